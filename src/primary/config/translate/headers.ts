// request/response_headers_to_add/remove at route config, virtual host, route and weighted
// cluster level (Envoy's HeaderValueOption and its legacy `append` flag).
import type { HeaderMutationSnap, HeaderValueOptionSnap } from '../../../shared/snapshot.ts';
import { bool, join, list, obj, str, strList, type Ctx, type Obj } from './context.ts';

const ACTIONS: Record<string, HeaderValueOptionSnap['action']> = {
  APPEND_IF_EXISTS_OR_ADD: 'append_if_exists_or_add',
  ADD_IF_ABSENT: 'add_if_absent',
  OVERWRITE_IF_EXISTS_OR_ADD: 'overwrite_if_exists_or_add',
  OVERWRITE_IF_EXISTS: 'overwrite_if_exists',
};

export const HEADER_FIELDS = ['request_headers_to_add', 'request_headers_to_remove', 'response_headers_to_add', 'response_headers_to_remove'] as const;

export function emptyMutation(): HeaderMutationSnap {
  return { requestToAdd: [], requestToRemove: [], responseToAdd: [], responseToRemove: [] };
}

/** The four header lists of `o` (a route config, virtual host, route or cluster weight). */
export function headerMutation(o: Obj, path: string, ctx: Ctx): HeaderMutationSnap {
  return {
    requestToAdd: list(o.request_headers_to_add).map((h, i) => headerValueOption(h, join(join(path, 'request_headers_to_add'), i), ctx)),
    requestToRemove: removals(o.request_headers_to_remove, join(path, 'request_headers_to_remove'), ctx),
    responseToAdd: list(o.response_headers_to_add).map((h, i) => headerValueOption(h, join(join(path, 'response_headers_to_add'), i), ctx)),
    responseToRemove: removals(o.response_headers_to_remove, join(path, 'response_headers_to_remove'), ctx),
  };
}

export function headerValueOption(h: Obj, path: string, ctx: Ctx): HeaderValueOptionSnap {
  const header = obj(h.header);
  const name = str(header.key).toLowerCase();
  checkModifiable(name, join(join(path, 'header'), 'key'), ctx);
  if (h.append !== undefined && h.append_action !== undefined) {
    ctx.issues.error(join(path, 'append'), 'append and append_action are both set; use append_action only');
  }
  // Legacy `append: false` means overwrite; the default (and `append: true`) appends.
  const action = h.append !== undefined ? (h.append === true ? 'append_if_exists_or_add' : 'overwrite_if_exists_or_add') : ACTIONS[str(h.append_action, 'APPEND_IF_EXISTS_OR_ADD')];
  const raw = header.raw_value;
  const value = raw instanceof Uint8Array && str(header.value) === '' ? Buffer.from(raw).toString('latin1') : str(header.value);
  return { name, value, action: action ?? 'append_if_exists_or_add', keepEmptyValue: bool(h.keep_empty_value, false) };
}

function removals(v: unknown, path: string, ctx: Ctx): string[] {
  return strList(v).map((n, i) => {
    checkModifiable(n.toLowerCase(), join(path, i), ctx);
    return n.toLowerCase();
  });
}

/** Envoy refuses to add or remove pseudo-headers and Host through header mutations. */
function checkModifiable(name: string, path: string, ctx: Ctx): void {
  if (name === '') ctx.issues.error(path, 'header name is required');
  else if (name.startsWith(':') || name === 'host') ctx.issues.error(path, `header "${name}" cannot be modified by header mutations`);
  else if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name)) ctx.issues.error(path, `invalid header name "${name}"`);
}

/** Per-filter configs stay decoded Any objects ({'@type', ...}); each filter interprets its own. */
export function typedPerFilterConfig(v: unknown): Record<string, unknown> {
  return { ...obj(v) };
}
