import { describe, expect, it } from 'vitest';
import { parseAddressList } from './index.js';

describe('parseAddressList', () => {
  it('parses name-addr and addr-spec', () => {
    expect(parseAddressList('John Doe <jdoe@example.com>, mary@example.net')).toEqual([
      { name: 'John Doe', mailbox: 'jdoe', host: 'example.com' },
      { name: null, mailbox: 'mary', host: 'example.net' },
    ]);
  });

  it('unquotes quoted display names and local parts', () => {
    expect(parseAddressList('"Doe, John \\"JD\\"" <"john doe"@example.com>')).toEqual([
      { name: 'Doe, John "JD"', mailbox: 'john doe', host: 'example.com' },
    ]);
  });

  it('parses groups, including empty ones (RFC 5322 §3.4)', () => {
    expect(parseAddressList('A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;, undisclosed-recipients:;')).toEqual([
      {
        group: 'A Group',
        addresses: [
          { name: 'Ed Jones', mailbox: 'c', host: 'a.test' },
          { name: null, mailbox: 'joe', host: 'where.test' },
          { name: 'John', mailbox: 'jdoe', host: 'one.test' },
        ],
      },
      { group: 'undisclosed-recipients', addresses: [] },
    ]);
  });

  it('uses a trailing comment as the name when there is none, and ignores others', () => {
    expect(parseAddressList('pete(his account)@silly.test (Pete Example)')).toEqual([
      { name: 'Pete Example', mailbox: 'pete', host: 'silly.test' },
    ]);
    expect(parseAddressList('Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>')).toEqual([
      { name: 'Pete', mailbox: 'pete', host: 'silly.test' },
    ]);
  });

  it('drops an obsolete route (RFC 5322 §4.4)', () => {
    expect(parseAddressList('Joe <@relay1.test,@relay2.test:joe@example.com>')).toEqual([
      { name: 'Joe', mailbox: 'joe', host: 'example.com' },
    ]);
  });

  it('decodes encoded words in names, also inside quotes', () => {
    expect(parseAddressList('=?utf-8?q?J=C3=BCrgen?= =?utf-8?q?_M=C3=BCller?= <j@x.de>')[0]).toEqual({ name: 'Jürgen Müller', mailbox: 'j', host: 'x.de' });
    expect(parseAddressList('"=?utf-8?b?w6k=?=" <e@x.fr>')[0]).toEqual({ name: 'é', mailbox: 'e', host: 'x.fr' });
  });

  it('keeps "John Q. Public" spacing and domain literals', () => {
    expect(parseAddressList('John Q. Public <jqp@[192.0.2.1]>')).toEqual([{ name: 'John Q. Public', mailbox: 'jqp', host: '[192.0.2.1]' }]);
  });

  it('recovers from broken input', () => {
    expect(parseAddressList('<a@b.c> <d@e.f>')).toEqual([
      { name: null, mailbox: 'a', host: 'b.c' },
      { name: null, mailbox: 'd', host: 'e.f' },
    ]);
    expect(parseAddressList('"Unclosed <u@x.y>')).toHaveLength(1);
    expect(parseAddressList('John Smith')).toEqual([{ name: null, mailbox: 'John Smith', host: '' }]);
    expect(parseAddressList(',,, ;; a@b ,')).toEqual([{ name: null, mailbox: 'a', host: 'b' }]);
    expect(parseAddressList('')).toEqual([]);
    expect(parseAddressList('Name <unterminated@x.y')).toEqual([{ name: 'Name', mailbox: 'unterminated', host: 'x.y' }]);
  });

  it('accepts raw UTF-8 addresses (RFC 6532)', () => {
    expect(parseAddressList('Ünïcødé <üser@exämple.de>')).toEqual([{ name: 'Ünïcødé', mailbox: 'üser', host: 'exämple.de' }]);
  });
});
