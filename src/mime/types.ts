/**
 * The stored shape of a parsed message. Everything here is plain JSON data (no Dates, no
 * Maps, no undefined values): it is written to the database at delivery and read back by
 * IMAP FETCH and JMAP Email/get without re-parsing the raw message.
 */

/** Bounds enforced while parsing one message; every field has a default in DEFAULT_MIME_LIMITS. */
export interface MimeLimits {
  /** Deepest nesting of multipart and message/rfc822 containers that is split into parts. */
  maxDepth: number;
  /** Most MIME parts (every node of the tree, encapsulated messages included) that are created. */
  maxParts: number;
  /** Header bytes per part that are parsed into fields; the rest is skipped but still spanned by offsets. */
  maxHeaderBytes: number;
  /** Characters of decoded body text kept in searchText.body. */
  maxBodyTextChars: number;
  /** Characters of decoded header text kept in searchText.headers. */
  maxHeaderTextChars: number;
  /** Characters of preview text (JMAP Email.preview allows at most 256). */
  maxPreviewChars: number;
}

/** One mailbox: RFC 5322 §3.4 addr-spec split into local part and domain, plus a decoded display name. */
export interface Address {
  /** Display name decoded to UTF-8 (RFC 2047 words and RFC 6532 raw UTF-8), or null when absent. */
  name: string | null;
  /** Local part, unquoted; '' when the input had none. */
  mailbox: string;
  /** Domain; '' when the input had none (the IMAP layer must not send NIL here: NIL marks groups). */
  host: string;
}

/** An RFC 5322 §3.4 group: `name: member, member;`. */
export interface AddressGroup {
  /** Group display name, decoded. */
  group: string;
  /** Members in order; may be empty (`undisclosed-recipients:;`). */
  addresses: Address[];
}

/** An address header's value: mailboxes and groups in their original order. */
export type AddressList = Array<Address | AddressGroup>;

/**
 * The fields of IMAP ENVELOPE (RFC 9051 §7.5.2, RFC 3501 §7.4.2). Address lists are null when the
 * header is absent. sender and replyTo are NOT defaulted to from here (JMAP needs to know they were
 * absent); the IMAP formatter applies the "defaults to From" rule of RFC 9051 §7.5.2.
 * Strings are decoded UTF-8: the IMAP layer re-encodes (RFC 2047) for clients that have not enabled
 * UTF8=ACCEPT (RFC 9051 §6.3.1 / RFC 6855).
 */
export interface Envelope {
  /** Date header value, unfolded and trimmed, not decoded (IMAP sends it as-is). */
  date: string | null;
  /** Subject decoded to UTF-8. */
  subject: string | null;
  /** Subject exactly as it appears in the header (unfolded, RFC 2047 words kept). */
  subjectRaw: string | null;
  from: AddressList | null;
  sender: AddressList | null;
  replyTo: AddressList | null;
  to: AddressList | null;
  cc: AddressList | null;
  bcc: AddressList | null;
  /** In-Reply-To header value, unfolded and trimmed (IMAP sends it raw). */
  inReplyTo: string | null;
  /** Message-ID header value, unfolded and trimmed (IMAP sends it raw). */
  messageId: string | null;
}

/** Content-Disposition (RFC 2183): lower-cased type and decoded params. */
export interface Disposition {
  type: string;
  params: Record<string, string>;
}

/**
 * One node of the MIME tree. Offsets are exact byte offsets into the raw message:
 *
 *   headerStart .. headerEnd   the header block INCLUDING the empty line that ends it (so
 *                              BODY[HEADER] / BODY[n.MIME] is raw[headerStart, headerEnd)).
 *                              When a part has no empty line, headerEnd is where the body or the
 *                              part ends, and no separator is included.
 *   bodyStart .. bodyEnd       the body as IMAP counts it (RFC 9051 §6.4.5): for a part inside a
 *                              multipart it stops before the CRLF that belongs to the next
 *                              delimiter (RFC 2046 §5.1.1). bodyStart === headerEnd always.
 */
export interface MimePart {
  headerStart: number;
  headerEnd: number;
  bodyStart: number;
  bodyEnd: number;
  /** Lower-cased media type (RFC 2045 §5.1); defaults per RFC 2045 §5.2 / RFC 2046 §5.1.5. */
  type: string;
  /** Lower-cased media subtype. */
  subtype: string;
  /** Content-Type parameters: lower-cased names, values decoded (RFC 2231, tolerated RFC 2047). */
  params: Record<string, string>;
  /** Content-ID, trimmed, or null. */
  id: string | null;
  /** Content-Description decoded, or null. */
  description: string | null;
  /** Content-Transfer-Encoding lower-cased; '7bit' when absent (RFC 2045 §6.1). */
  encoding: string;
  /** Body octets (bodyEnd - bodyStart), as IMAP body-fld-octets counts them. */
  size: number;
  /** Text lines of the body for text/* and message/rfc822|global (IMAP body-fld-lines), else null. */
  lines: number | null;
  /** Content-MD5 value, or null. */
  md5: string | null;
  /** Content-Disposition, or null. */
  disposition: Disposition | null;
  /** Content-Language tags (RFC 3282), or null. */
  language: string[] | null;
  /** Content-Location, unfolded, or null. */
  location: string | null;
  /**
   * Children of a multipart. May be empty: no boundary parameter, boundary never seen, or a
   * limit reached. IMAP needs at least one child; the formatter should then emit an empty
   * text/plain body, as Dovecot does.
   */
  parts?: MimePart[];
  /**
   * The encapsulated message of a message/rfc822 or message/global part. Absent when it was not
   * parsed (a base64/quoted-printable encoded message, or the depth limit); the IMAP formatter
   * then presents the part as a basic body.
   */
  message?: EncapsulatedMessage;
}

/** Envelope and part tree of a message/rfc822 body (what IMAP BODYSTRUCTURE nests). */
export interface EncapsulatedMessage {
  envelope: Envelope;
  root: MimePart;
}

/** A part the user would call an attachment, with its IMAP section number (= JMAP partId). */
export interface AttachmentSummary {
  section: string;
  /** "type/subtype", lower-cased. */
  type: string;
  /** File name from Content-Disposition filename or Content-Type name, decoded. */
  name: string | null;
  /** Octets after transfer decoding. */
  decodedSize: number;
  disposition: string | null;
  /** Content-ID, or null. */
  cid: string | null;
}

/** Everything Bulwark keeps about a message besides its raw bytes. */
export interface ParsedMessage {
  /** MIME_PARSER_VERSION that produced this; re-parse stored rows when it changes. */
  version: number;
  /** Raw message length in octets (IMAP RFC822.SIZE). */
  size: number;
  root: MimePart;
  envelope: Envelope;
  /** Message-ID normalised to `<id>`, or null. */
  messageId: string | null;
  /** Ids from In-Reply-To, normalised to `<id>`. */
  inReplyTo: string[];
  /** Ids from References (RFC 5322 §3.6.4), normalised to `<id>`, in header order. */
  references: string[];
  /** RFC 5256 §2.1 base subject. */
  baseSubject: string;
  /** Date header as milliseconds since the epoch, or null when absent or unparseable. */
  sentAt: number | null;
  /**
   * Decoded text to index. headers: "name: value" lines of the top-level header, decoded.
   * body: text of the displayed text/plain or text/html parts (HTML reduced to text), then the
   * attachment file names, one per line.
   */
  searchText: { headers: string; body: string };
  /** Start of the body text with whitespace collapsed (JMAP Email.preview). */
  preview: string;
  hasAttachment: boolean;
  attachments: AttachmentSummary[];
  /** Sorted, de-duplicated codes for problems met while parsing (limits reached, broken syntax). */
  defects: string[];
}
