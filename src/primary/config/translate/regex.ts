// Envoy's safe_regex uses RE2 syntax. Workers run JS RegExp (compiled without the `u` flag and
// anchored as `^(?:…)$`), so we translate RE2 to an equivalent JS source once, here, and reject
// what RE2 itself rejects (backreferences, lookaround) or what JS cannot express the same way.

export type RegexTranslation =
  | { source: string; error: null; warning: string | null }
  | { source: null; error: string; warning: null };

interface Frame {
  /**
   * Modifier groups opened by `(?flags)` inside this group. RE2 applies such flags up to the end
   * of the group, across later alternatives, so each `|` closes and reopens them.
   */
  mods: string[];
  /** An unbounded quantifier occurred inside (for the nested-quantifier warning). */
  unbounded: boolean;
}

class Re2Error extends Error {}

const MAX_REPEAT = 1000;

const POSIX: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

/** Translates an RE2 pattern; the result is validated by compiling it the way workers do. */
export function re2ToJs(re: string): RegexTranslation {
  let t: Translator;
  try {
    t = new Translator(re);
    t.run();
  } catch (e) {
    return { source: null, error: (e as Error).message, warning: null };
  }
  try {
    new RegExp(`^(?:${t.out})$`);
  } catch (e) {
    return { source: null, error: `invalid regex: ${(e as Error).message.replace(/^Invalid regular expression: /, '')}`, warning: null };
  }
  return { source: t.out, error: null, warning: t.warning };
}

class Translator {
  out = '';
  warning: string | null = null;
  private i = 0;
  private readonly re: string;
  private readonly stack: Frame[] = [{ mods: [], unbounded: false }];

  constructor(re: string) {
    this.re = re;
  }

  run(): void {
    while (this.i < this.re.length) this.step();
    if (this.stack.length > 1) throw new Re2Error('missing closing )');
    this.out += ')'.repeat(this.stack[0].mods.length);
  }

  private step(): void {
    const c = this.re[this.i];
    if (c === '\\') this.out += this.escape(false);
    else if (c === '[') this.out += this.charClass();
    else if (c === '(') this.open();
    else if (c === ')') this.close();
    else if (c === '{') this.repeat();
    else if (c === '|') this.alternative();
    else {
      if (c === '*' || c === '+') this.top().unbounded = true;
      this.out += c;
      this.i++;
    }
  }

  private alternative(): void {
    const mods = this.top().mods;
    this.out += `${')'.repeat(mods.length)}|${mods.join('')}`;
    this.i++;
  }

  private top(): Frame {
    return this.stack[this.stack.length - 1];
  }

  private open(): void {
    const rest = this.re.slice(this.i);
    if (/^\(\?(=|!|<=|<!)/.test(rest)) throw new Re2Error('lookahead/lookbehind assertions are not supported by RE2');
    if (rest.startsWith('(?P=')) throw new Re2Error('backreferences are not supported by RE2');
    const named = /^\(\?P?<([A-Za-z_][A-Za-z0-9_]*)>/.exec(rest);
    if (named !== null) return this.push(`(?<${named[1]}>`, named[0].length);
    if (rest.startsWith('(?:')) return this.push('(?:', 3);
    if (rest.startsWith('(?')) return this.flags(rest);
    this.push('(', 1);
  }

  private push(text: string, len: number): void {
    this.stack.push({ mods: [], unbounded: false });
    this.out += text;
    this.i += len;
  }

  /** `(?i)` applies to the rest of the enclosing group; `(?i:…)` to its own group. */
  private flags(rest: string): void {
    const m = /^\(\?([A-Za-z]*)(?:-([A-Za-z]*))?([:)])/.exec(rest);
    if (m === null) throw new Re2Error(`invalid group syntax at offset ${this.i}`);
    const on = m[1];
    const off = m[2] ?? '';
    for (const f of on + off) {
      if (f === 'U') throw new Re2Error('the ungreedy flag (?U) is not supported');
      if (!'ims'.includes(f)) throw new Re2Error(`unknown regex flag "${f}"`);
    }
    if (on === '' && off === '') throw new Re2Error(`empty flag group at offset ${this.i}`);
    const js = `(?${on}${off === '' ? '' : `-${off}`}:`;
    if (m[3] === ':') return this.push(js, m[0].length);
    this.top().mods.push(js);
    this.out += js;
    this.i += m[0].length;
  }

  private close(): void {
    if (this.stack.length === 1) throw new Re2Error(`unmatched ) at offset ${this.i}`);
    const f = this.stack.pop()!;
    this.out += ')'.repeat(f.mods.length + 1);
    this.i++;
    const next = this.re[this.i];
    const quantified = next === '*' || next === '+' || (next === '{' && /^\{\d+,\d*\}/.test(this.re.slice(this.i)) && !/^\{\d+,\d+\}/.test(this.re.slice(this.i)));
    if (f.unbounded && quantified) {
      this.warning = 'nested unbounded quantifiers can backtrack exponentially in JS (RE2 runs in linear time); consider simplifying';
    }
    if (f.unbounded) this.top().unbounded = true;
  }

  private repeat(): void {
    const m = /^\{(\d+)(?:(,)(\d*))?\}/.exec(this.re.slice(this.i));
    if (m === null) {
      this.out += '\\{'; // RE2 treats a brace that does not start a repetition as a literal
      this.i++;
      return;
    }
    if (Number(m[1]) > MAX_REPEAT || (m[3] !== undefined && m[3] !== '' && Number(m[3]) > MAX_REPEAT)) {
      throw new Re2Error(`repetition count in ${m[0]} exceeds RE2's limit of ${MAX_REPEAT}`);
    }
    if (m[2] !== undefined && (m[3] === undefined || m[3] === '')) this.top().unbounded = true;
    this.out += m[0];
    this.i += m[0].length;
  }

  private charClass(): string {
    let out = '[';
    this.i++;
    if (this.re[this.i] === '^') {
      out += '^';
      this.i++;
    }
    let first = true;
    for (;;) {
      if (this.i >= this.re.length) throw new Re2Error('missing closing ] in character class');
      const c = this.re[this.i];
      if (c === ']' && !first) break;
      first = false;
      if (c === ']') out += '\\]'; // leading ] is literal in RE2, but `[]` means empty in JS
      else if (c === '[' && this.re[this.i + 1] === ':') {
        out += this.posix();
        continue;
      } else if (c === '\\') {
        out += this.escape(true);
        continue;
      } else out += c === '[' ? '\\[' : c;
      this.i++;
    }
    this.i++;
    return `${out}]`;
  }

  private posix(): string {
    const m = /^\[:(\^?)([a-z]+):\]/.exec(this.re.slice(this.i));
    if (m === null || POSIX[m[2]] === undefined) throw new Re2Error(`invalid POSIX character class at offset ${this.i}`);
    if (m[1] === '^') throw new Re2Error(`negated POSIX class ${m[0]} is not supported`);
    this.i += m[0].length;
    return POSIX[m[2]];
  }

  /** One escape sequence starting at `\`; returns its JS form. */
  private escape(inClass: boolean): string {
    const c = this.re[this.i + 1];
    if (c === undefined) throw new Re2Error('trailing backslash');
    this.i += 2;
    switch (c) {
      case 'd': case 'D': case 'w': case 'W': case 'f': case 't': case 'n': case 'r': case 'v':
        return `\\${c}`;
      case 's':
        return inClass ? '\\t\\n\\f\\r ' : '[\\t\\n\\f\\r ]';
      case 'S':
        return inClass ? '\\S' : '[^\\t\\n\\f\\r ]';
      case 'b': case 'B':
        if (inClass) throw new Re2Error(`\\${c} is not allowed in a character class`);
        return `\\${c}`;
      case 'A':
        if (inClass) throw new Re2Error('\\A is not allowed in a character class');
        return '(?<![\\s\\S])';
      case 'z':
        if (inClass) throw new Re2Error('\\z is not allowed in a character class');
        return '(?![\\s\\S])';
      case 'a':
        return '\\x07';
      case 'x':
        return this.hex();
      case 'Q':
        return this.quoted(inClass);
      case 'p': case 'P':
        throw new Re2Error(`Unicode character classes (\\${c}) are not supported`);
      case 'C':
        throw new Re2Error('\\C (any byte) is not supported');
    }
    if (c >= '0' && c <= '9') return this.octal(c);
    if (/[A-Za-z]/.test(c)) throw new Re2Error(`invalid escape sequence \\${c}`);
    return `\\${c}`;
  }

  private hex(): string {
    const m = /^(?:\{([0-9A-Fa-f]{1,6})\}|([0-9A-Fa-f]{2}))/.exec(this.re.slice(this.i));
    if (m === null) throw new Re2Error(`invalid \\x escape at offset ${this.i - 2}`);
    this.i += m[0].length;
    return codePoint(parseInt(m[1] ?? m[2], 16));
  }

  private octal(first: string): string {
    // RE2: `\0…` and `\1`–`\7` followed by another octal digit are octal codes; a lone digit is a backreference.
    const m = /^[0-7]{0,2}/.exec(this.re.slice(this.i))![0];
    if (first !== '0' && (first > '7' || m === '')) throw new Re2Error(`backreferences (\\${first}) are not supported by RE2`);
    this.i += m.length;
    return codePoint(parseInt(first + m, 8));
  }

  private quoted(inClass: boolean): string {
    const end = this.re.indexOf('\\E', this.i);
    const lit = end < 0 ? this.re.slice(this.i) : this.re.slice(this.i, end);
    this.i = end < 0 ? this.re.length : end + 2;
    return lit.replace(inClass ? /[\\\]\[^-]/g : /[\\^$.|?*+()[\]{}/-]/g, '\\$&');
  }
}

function codePoint(n: number): string {
  if (n > 0xffff) throw new Re2Error(`code point U+${n.toString(16).toUpperCase()} needs Unicode mode, which is not supported`);
  return `\\u${n.toString(16).padStart(4, '0')}`;
}
