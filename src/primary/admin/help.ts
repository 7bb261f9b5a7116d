// /help's plain text and the / home page. Both list endpoints in path order, as Envoy does.
import type { Endpoint } from './endpoint.ts';

function sorted(endpoints: Endpoint[]): Endpoint[] {
  return [...endpoints].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export function helpText(endpoints: Endpoint[]): string {
  let out = 'admin commands are:\n';
  for (const e of sorted(endpoints)) {
    out += `  ${e.path}${e.mutates ? ' (POST)' : ''}: ${e.help}\n`;
    for (const p of e.params ?? []) out += `      ${p.name}: ${p.help}\n`;
  }
  return out;
}

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESC[c]);
}

// Mutating endpoints get a POST form so a browser click can't trigger them by a plain link.
function row(e: Endpoint): string {
  const target = e.mutates
    ? `<form action="${esc(e.path)}" method="post"><button type="submit">${esc(e.path)}</button></form>`
    : `<a href="${esc(e.path)}">${esc(e.path)}</a>`;
  return `<tr><td>${target}</td><td>${esc(e.help)}</td></tr>`;
}

export function homePage(endpoints: Endpoint[]): string {
  const rows = sorted(endpoints).map(row).join('\n');
  return (
    '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>orion admin</title></head><body>\n' +
    '<table>\n<thead><tr><th>Command</th><th>Description</th></tr></thead>\n<tbody>\n' +
    rows +
    '\n</tbody></table>\n</body></html>\n'
  );
}
