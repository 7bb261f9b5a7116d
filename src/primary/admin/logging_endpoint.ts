// /logging: lists logger levels and changes them, with Envoy's query forms: ?level=<l> for all
// loggers, ?<logger>=<l> for one, ?paths=<logger>:<l>,... for several. Envoy only takes POST
// here; a bare GET that changes nothing is allowed too, so `curl /logging` can read the levels.
import type { AdminContext } from './context.ts';
import { text, type Endpoint } from './endpoint.ts';

const LEVELS = ['trace', 'debug', 'info', 'warning', 'error', 'critical', 'off'];

export function loggingEndpoint(ctx: AdminContext): Endpoint {
  return {
    path: '/logging',
    help: 'show or change log levels',
    mutates: true,
    readOnly: (q) => q.size === 0,
    params: [
      { name: 'level', help: `set every logger to this level; one of (${LEVELS.join(', ')})` },
      { name: 'paths', help: 'set several loggers: <logger>:<level>,<logger>:<level>' },
    ],
    handle: (req) => {
      const error = req.query.size === 0 ? null : change(ctx, req.query);
      const list = listing(ctx);
      return error === null ? text(list) : text(usage(error) + list, 400);
    },
  };
}

/** Applies the change; returns an error message, or null on success. */
function change(ctx: AdminContext, q: URLSearchParams): string | null {
  if (q.size !== 1) return 'invalid number of parameters';
  const [key, value] = [...q.entries()][0];
  if (key === 'level') {
    if (!LEVELS.includes(value)) return `unknown log level '${value}'`;
    ctx.setLogLevel(value);
    return null;
  }
  const pairs = key === 'paths' ? parsePaths(value) : [[key, value]];
  if (typeof pairs === 'string') return pairs;
  const known = ctx.logLevels();
  // Validate everything first so a bad entry changes nothing.
  for (const [name, level] of pairs) {
    if (!LEVELS.includes(level)) return `unknown log level '${level}'`;
    if (!(name in known)) return 'unknown logger name';
  }
  for (const [name, level] of pairs) ctx.setLogLevel(level, name);
  return null;
}

function parsePaths(value: string): [string, string][] | string {
  const out: [string, string][] = [];
  for (const item of value.split(',')) {
    if (item.trim() === '') continue;
    const at = item.indexOf(':');
    const name = at < 0 ? '' : item.slice(0, at).trim();
    const level = at < 0 ? '' : item.slice(at + 1).trim();
    if (name === '' || level === '') return 'empty logger name or empty logger level';
    out.push([name, level]);
  }
  return out;
}

function listing(ctx: AdminContext): string {
  let out = 'active loggers:\n';
  for (const [name, level] of Object.entries(ctx.logLevels())) out += `  ${name}: ${level}\n`;
  return out + '\n';
}

function usage(error: string): string {
  return (
    `error: ${error}\n\n` +
    'usage: /logging?<name>=<level> (one logger)\n' +
    'usage: /logging?paths=<name>:<level>,<name>:<level> (several loggers)\n' +
    'usage: /logging?level=<level> (every logger)\n' +
    `levels: ${LEVELS.join(' ')} \n`
  );
}
