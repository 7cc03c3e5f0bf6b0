import { describe, expect, it } from 'vitest';
import { baseSubject } from './index.js';

describe('baseSubject (RFC 5256 §2.1)', () => {
  it.each([
    ['Re: hello', 'hello'],
    ['RE: Re: re:hello', 'hello'],
    ['Fwd: Fw: hello', 'hello'],
    ['Re[2]: hello', 'hello'],
    ['[list] Re: [other] hello', 'hello'],
    ['hello (fwd)', 'hello'],
    ['hello (FWD) (fwd)  ', 'hello'],
    ['[Fwd: Re: hello]', 'hello'],
    ['Re: [fwd: [list] hello (fwd)]', 'hello'],
    ['[only-a-blob]', '[only-a-blob]'],
    ['  spaced\t\tout   subject  ', 'spaced out subject'],
    ['=?utf-8?q?Re=3A_caf=C3=A9?=', 'café'],
    ['Reply: keeps', 'Reply: keeps'],
    ['', ''],
  ])('%j → %j', (input, expected) => {
    expect(baseSubject(input)).toBe(expected);
  });
});
