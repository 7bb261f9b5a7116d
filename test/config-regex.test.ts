import { test } from 'node:test';
import assert from 'node:assert/strict';
import { re2ToJs } from '../src/primary/config/translate/regex.ts';

/** Compiles a translation the way workers do and tests full-string matches. */
function matcher(re2: string, flags = ''): (s: string) => boolean {
  const t = re2ToJs(re2);
  assert.equal(t.error, null, `${re2}: ${t.error}`);
  const re = new RegExp(`^(?:${t.source})$`, flags);
  return (s) => re.test(s);
}

test('RE2 syntax that differs from JS is translated', () => {
  assert.ok(matcher('(?i)abc')('ABC'));
  assert.ok(matcher('a(?i)b|c')('aB'));
  assert.ok(matcher('a(?i)b|c')('C'));
  assert.ok(!matcher('(?i:a)b')('AB'));
  assert.ok(matcher('(?P<id>[0-9]+)/x')('12/x'));
  assert.ok(matcher('[[:alpha:]]+[[:digit:]]')('ab1'));
  assert.ok(matcher('\\Qa.b*\\E')('a.b*'));
  assert.ok(!matcher('\\Qa.b\\E')('axb'));
  assert.ok(matcher('[]a]+')(']a]'));
  assert.ok(matcher('\\x{41}\\x42\\101')('ABA'));
  assert.ok(matcher('\\Aab\\z')('ab'));
  assert.ok(matcher('a\\sb')('a b'));
  assert.ok(!matcher('a\\sb')('a\u00a0b')); // RE2's \s is ASCII whitespace only
  assert.ok(matcher('x{2,3}')('xxx'));
  assert.ok(matcher('{')('{'));
});

test('what RE2 rejects is rejected', () => {
  for (const [re, why] of [
    ['(?=a)', /lookahead/],
    ['(?<!a)b', /lookahead/],
    ['(a)\\1', /backreference/],
    ['(?P=n)', /backreference/],
    ['\\pL', /Unicode/],
    ['a{1001}', /1000/],
    ['(?U)a+', /ungreedy/],
    ['\\e', /invalid escape/],
    ['(ab', /missing closing \)/],
    ['ab)', /unmatched \)/],
    ['[ab', /missing closing \]/],
    ['*a', /Nothing to repeat/],
    ['[[:^alpha:]]', /negated POSIX/],
  ] as const) {
    const t = re2ToJs(re);
    assert.equal(t.source, null, re);
    assert.match(t.error!, why, re);
  }
});

test('nested unbounded quantifiers get a backtracking warning', () => {
  assert.match(re2ToJs('(a+)+b').warning ?? '', /backtrack/);
  assert.equal(re2ToJs('(ab)+c').warning, null);
  assert.equal(re2ToJs('/api/v[0-9]+/.*').warning, null);
});

test('inline flags keep applying across later alternatives, but not earlier ones', () => {
  const m = matcher('a(?i)b|c|(d)');
  assert.ok(m('aB') && m('C') && m('D'));
  assert.ok(!m('AB'));
  assert.ok(matcher('x|(?i)y')('Y'));
  assert.ok(!matcher('x|(?i)y')('X'));
  const nested = matcher('(a(?i)b|c)d');
  assert.ok(nested('aBd') && nested('Cd'));
  assert.ok(!nested('CD'));
});
