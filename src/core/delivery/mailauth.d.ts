/** The small part of mailauth 4.x (which ships no types) that delivery and the queue use. */
declare module 'mailauth' {
  export interface AuthenticateOptions {
    sender?: string;
    ip?: string;
    helo?: string;
    mta?: string;
    trustReceived?: boolean;
    disableBimi?: boolean;
    disableArc?: boolean;
    disableDmarc?: boolean;
    resolver?: (name: string, rr: string) => Promise<unknown>;
  }
  export interface DmarcResult {
    status?: { result?: string };
    policy?: string;
    p?: string;
    sp?: string;
    domain?: string;
  }
  export interface AuthenticateResult {
    dkim?: { results?: Array<{ status?: { result?: string }; signingDomain?: string; selector?: string; algo?: string }> };
    spf?: { status?: { result?: string } } | false;
    dmarc?: DmarcResult | false;
    arc?: { status?: { result?: string } } | false;
    headers: string;
  }
  export function authenticate(message: Buffer | string, options?: AuthenticateOptions): Promise<AuthenticateResult>;
}
declare module 'mailauth/lib/dkim/sign.js' {
  export interface SignatureData {
    signingDomain: string;
    selector: string;
    privateKey: string | Buffer;
    algorithm?: string;
    canonicalization?: string;
  }
  export function dkimSign(
    message: Buffer | string,
    options: { canonicalization?: string; algorithm?: string; signTime?: Date; signatureData: SignatureData[] },
  ): Promise<{ signatures: string; errors: unknown[] }>;
}
