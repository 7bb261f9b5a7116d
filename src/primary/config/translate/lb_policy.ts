// Load-balancing policies: the legacy lb_policy enum (with its *_lb_config) and the typed
// load_balancing_policy list both resolve through one registry keyed by policy type name.
import type { ClusterSnap } from '../../../shared/snapshot.ts';
import { anyBody, anyType, checkRest, durationMs, join, list, num, obj, str, type Ctx, type Obj } from './context.ts';
import { lbPolicies, registerLbPolicy } from './registry.ts';

const P = 'envoy.extensions.load_balancing_policies';
export const ROUND_ROBIN = `${P}.round_robin.v3.RoundRobin`;
export const CLUSTER_PROVIDED = `${P}.cluster_provided.v3.ClusterProvided`;

/** lb_policy enum → policy type name, and the legacy Cluster field holding its config. */
const LEGACY: Record<string, [string, string | null]> = {
  ROUND_ROBIN: [ROUND_ROBIN, 'round_robin_lb_config'],
  LEAST_REQUEST: [`${P}.least_request.v3.LeastRequest`, 'least_request_lb_config'],
  RING_HASH: [`${P}.ring_hash.v3.RingHash`, 'ring_hash_lb_config'],
  MAGLEV: [`${P}.maglev.v3.Maglev`, 'maglev_lb_config'],
  RANDOM: [`${P}.random.v3.Random`, null],
  CLUSTER_PROVIDED: [CLUSTER_PROVIDED, null],
};

export const LB_CONFIG_FIELDS = ['lb_policy', 'load_balancing_policy', 'round_robin_lb_config', 'least_request_lb_config', 'ring_hash_lb_config', 'maglev_lb_config', 'common_lb_config'];
export const PEAK_EWMA = 'orion.extensions.load_balancing_policies.peak_ewma.v1.PeakEwma';

export interface LbChoice {
  /** Registry type name of the chosen policy. */
  typeName: string;
  policy: string;
  config: unknown;
  /** common_lb_config settings every policy shares. */
  common: Pick<ClusterSnap, 'healthyPanicThreshold' | 'localityWeightedLb'>;
}

export function lbPolicy(c: Obj, path: string, ctx: Ctx): LbChoice {
  const common = commonLbConfig(obj(c.common_lb_config), join(path, 'common_lb_config'), ctx);
  return { ...policyChoice(c, path, ctx), common };
}

/** Panic threshold and locality weighting; zone-aware routing is not implemented. */
function commonLbConfig(c: Obj, path: string, ctx: Ctx): LbChoice['common'] {
  checkRest(ctx, c, path, ['healthy_panic_threshold', 'locality_weighted_lb_config']);
  // A set Percent whose value is 0 decodes without `value` (proto3 default): that means 0%.
  const t = c.healthy_panic_threshold === undefined ? 50 : num(obj(c.healthy_panic_threshold).value, 0);
  if (t < 0 || t > 100) ctx.issues.error(join(join(path, 'healthy_panic_threshold'), 'value'), `${t} is not a percentage (0-100)`);
  return { healthyPanicThreshold: Math.min(100, Math.max(0, t)), localityWeightedLb: c.locality_weighted_lb_config !== undefined };
}

function policyChoice(c: Obj, path: string, ctx: Ctx): Omit<LbChoice, 'common'> {
  if (c.load_balancing_policy !== undefined) return typedPolicy(obj(c.load_balancing_policy), join(path, 'load_balancing_policy'), ctx);
  const name = str(c.lb_policy, 'ROUND_ROBIN');
  const legacy = LEGACY[name];
  if (legacy === undefined) {
    ctx.issues.error(join(path, 'lb_policy'), `lb_policy ${name} is not supported`);
    return fallback(ctx);
  }
  const [typeName, cfgField] = legacy;
  for (const [enumName, [, field]] of Object.entries(LEGACY)) {
    if (field !== null && field !== cfgField && c[field] !== undefined) ctx.issues.warn(join(path, field), `ignored: lb_policy is ${name}, not ${enumName}`);
  }
  const cfgPath = cfgField === null ? path : join(path, cfgField);
  const t = lbPolicies.get(typeName)!;
  return { typeName, policy: t.policy, config: t.translate(cfgField === null ? {} : obj(c[cfgField]), cfgPath, ctx) };
}

/** Envoy uses the first policy in the list that it supports. */
function typedPolicy(lp: Obj, path: string, ctx: Ctx): Omit<LbChoice, 'common'> {
  const policies = list(lp.policies);
  for (const [i, p] of policies.entries()) {
    const ext = obj(p.typed_extension_config);
    const typeName = anyType(ext.typed_config);
    const t = lbPolicies.get(typeName);
    const pp = join(join(join(path, 'policies'), i), 'typed_extension_config');
    if (t === undefined) {
      ctx.issues.warn(pp, `load balancing policy ${typeName || str(ext.name)} is not supported; trying the next one`);
      continue;
    }
    return { typeName, policy: t.policy, config: t.translate(anyBody(ext.typed_config), join(pp, 'typed_config'), ctx) };
  }
  ctx.issues.error(join(path, 'policies'), 'none of the load balancing policies is supported');
  return fallback(ctx);
}

function fallback(ctx: Ctx): Omit<LbChoice, 'common'> {
  return { typeName: ROUND_ROBIN, policy: 'round_robin', config: lbPolicies.get(ROUND_ROBIN)!.translate({}, '', ctx) };
}

function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

function runtimeDouble(v: unknown, def: number): number {
  return num(obj(v).default_value, def);
}

registerLbPolicy(ROUND_ROBIN, {
  policy: 'round_robin',
  translate: (c, path, ctx) => {
    checkRest(ctx, c, path, []);
    return {};
  },
});

registerLbPolicy(`${P}.random.v3.Random`, {
  policy: 'random',
  translate: (c, path, ctx) => {
    checkRest(ctx, c, path, []);
    return {};
  },
});

registerLbPolicy(`${P}.least_request.v3.LeastRequest`, {
  policy: 'least_request',
  translate: (c, path, ctx) => {
    checkRest(ctx, c, path, ['choice_count', 'active_request_bias']);
    return { choiceCount: num(c.choice_count, 2), activeRequestBias: runtimeDouble(c.active_request_bias, 1) };
  },
});

registerLbPolicy(`${P}.ring_hash.v3.RingHash`, {
  policy: 'ring_hash',
  translate: (c, path, ctx) => {
    checkRest(ctx, c, path, ['minimum_ring_size', 'maximum_ring_size', 'hash_function']);
    const min = num(c.minimum_ring_size, 1024);
    const max = num(c.maximum_ring_size, 8 * 1024 * 1024);
    if (min > max) ctx.issues.error(join(path, 'minimum_ring_size'), `minimum_ring_size ${min} exceeds maximum_ring_size ${max}`);
    return { minimumRingSize: min, maximumRingSize: max, hashFunction: str(c.hash_function, 'XX_HASH').toLowerCase() };
  },
});

registerLbPolicy(`${P}.maglev.v3.Maglev`, {
  policy: 'maglev',
  translate: (c, path, ctx) => {
    checkRest(ctx, c, path, ['table_size']);
    const size = num(c.table_size, 65537);
    // Maglev's permutation only visits every slot when the table size is prime.
    if (!isPrime(size) || size > 5_000_011) ctx.issues.error(join(path, 'table_size'), `${size} must be a prime number no larger than 5000011`);
    return { tableSize: size };
  },
});

registerLbPolicy(CLUSTER_PROVIDED, {
  policy: 'cluster_provided',
  translate: (c, path, ctx) => {
    checkRest(ctx, c, path, []);
    return {};
  },
});

// Orion's own policy (proto/orion/extensions/load_balancing_policies/peak_ewma/v1).
registerLbPolicy(PEAK_EWMA, {
  policy: 'peak_ewma',
  translate: (c, path, ctx) => {
    checkRest(ctx, c, path, ['half_life', 'default_rtt', 'error_penalty', 'choice_count']);
    const choiceCount = num(c.choice_count, 2);
    if (choiceCount < 2) ctx.issues.error(join(path, 'choice_count'), 'must be at least 2');
    return {
      halfLifeMs: durationMs(c.half_life, 10_000) || 10_000,
      defaultRttMs: durationMs(c.default_rtt, 30),
      errorPenaltyMs: durationMs(c.error_penalty, 1000),
      choiceCount: Math.max(2, choiceCount),
    };
  },
});
