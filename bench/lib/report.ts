// The markdown report: one table row per scenario × proxy with ratios to nginx, and the issue-7
// targets, each marked met / not met with the measured ratio.

export interface Row {
  scenario: string;
  proxy: string;
  unit: string;
  value: number | null;
  p50: number | null;
  p99: number | null;
  /** % of one core, all processes of the proxy */
  cpu: number | null;
  rssMb: number | null;
  notes: string[];
  /** set when the proxy could not run the scenario: shown as "n/a (reason)" */
  na?: string;
  workers?: number;
}

export interface ReportInput {
  rows: Row[];
  started: Date;
  command: string;
  machine: string;
  layout: string;
  scaleTo: number;
  /** connections idle-10k opened (fewer in --quick: then its target is not judged) */
  idleConns: number;
  /** things that went wrong outside any one row (an origin restarted) */
  warnings: string[];
}

interface Target {
  scenario: string;
  label: string;
  /** [met, measured] from the rows; null when a needed row is missing */
  judge: (get: (scenario: string, proxy: string) => Row | undefined, input: ReportInput) => [boolean | null, string] | null;
}

const num = (r: Row | undefined) => (r && !r.na && r.value !== null && r.value > 0 ? r.value : null);
const x = (v: number) => `${v.toFixed(2)}×`;

function vsNginx(scenario: string, min: number, label: string): Target {
  return {
    scenario,
    label,
    judge: (get) => {
      const o = num(get(scenario, 'orion'));
      const n = num(get(scenario, 'nginx'));
      if (o === null || n === null) return null;
      return [o / n >= min, x(o / n)];
    },
  };
}

export const TARGETS: Target[] = [
  {
    scenario: 'h1-keepalive',
    label: 'HTTP/1.1 keep-alive ≥ 0.9× nginx req/s, p99 ≤ 1.5× nginx',
    judge: (get) => {
      const o = get('h1-keepalive', 'orion');
      const n = get('h1-keepalive', 'nginx');
      if (num(o) === null || num(n) === null || !o!.p99 || !n!.p99) return null;
      const r = num(o)! / num(n)!;
      const p = o!.p99 / n!.p99;
      return [r >= 0.9 && p <= 1.5, `${x(r)}, p99 ${x(p)}`];
    },
  },
  vsNginx('tls-h1', 0.8, 'TLS HTTP/1.1 ≥ 0.8× nginx'),
  vsNginx('tls-h2', 0.8, 'TLS HTTP/2 ≥ 0.8× nginx'),
  vsNginx('h2-mux', 1.0, 'HTTP/2 ≥ 1.0× nginx'),
  vsNginx('tcp-throughput', 0.9, 'TCP proxy throughput ≥ 0.9× nginx stream'),
  vsNginx('tcp-connrate', 0.9, 'TCP proxy connection rate ≥ 0.9× nginx stream'),
  {
    scenario: 'routes-1000',
    label: '10 → 1,000 exact/prefix routes within 10% (orion vs itself)',
    judge: (get) => {
      const a = num(get('routes-10', 'orion'));
      const b = num(get('routes-1000', 'orion'));
      if (a === null || b === null) return null;
      return [Math.abs(b / a - 1) <= 0.1, `${x(b / a)} of routes-10`];
    },
  },
  {
    scenario: 'idle-rss',
    label: 'idle worker RSS ≤ 60 MB',
    judge: (get) => {
      const o = num(get('idle-rss', 'orion'));
      return o === null ? null : [o <= 60, `${o.toFixed(1)} MB`];
    },
  },
  {
    scenario: 'idle-10k',
    label: '10,000 idle connections ≤ +100 MB',
    judge: (get, input) => {
      const o = get('idle-10k', 'orion');
      if (!o || o.na || o.value === null) return null;
      if (input.idleConns < 10_000) return [null, `+${o.value.toFixed(1)} MB with ${input.idleConns} connections`];
      return [o.value <= 100, `+${o.value.toFixed(1)} MB`];
    },
  },
  {
    scenario: 'scale-Nw',
    label: 'worker scaling ≥ 0.9 × N',
    judge: (get, { scaleTo: n }) => {
      const a = num(get('scale-1w', 'orion'));
      const b = num(get('scale-Nw', 'orion'));
      if (a === null || b === null) return null;
      // with fewer cores than workers + load generator, the extra worker competes with wrk
      const shared = get('scale-Nw', 'orion')!.notes.some((t) => t.startsWith('load generator shares'));
      return [b / a >= 0.9 * n, `${x(b / a)} with ${n} workers, needs ${(0.9 * n).toFixed(1)}×${shared ? '; load generator on the same CPUs: indicative only' : ''}`];
    },
  },
];

function fmt(v: number | null, unit?: string): string {
  if (v === null || !Number.isFinite(v)) return '-';
  if (unit === 'MiB/s' || unit === 'MB' || unit === '+MB') return v.toFixed(1);
  if (Math.abs(v) >= 100) return String(Math.round(v));
  return v.toFixed(2);
}

function ratio(v: number | null, base: number | null): string {
  if (v === null || base === null || base === 0) return '-';
  return base > 0 ? (v / base).toFixed(2) : '-';
}

export function report(input: ReportInput): string {
  const { rows } = input;
  const get = (s: string, p: string) => rows.find((r) => r.scenario === s && r.proxy === p);
  const judged = new Map<string, string>();
  const summary: string[] = [];
  for (const t of TARGETS) {
    if (!rows.some((r) => r.scenario === t.scenario)) continue;
    const j = t.judge(get, input);
    const cell = j === null ? 'not measured' : `${j[0] === null ? 'not judged' : j[0] ? '**met**' : '**not met**'} (${j[1]})`;
    judged.set(t.scenario, judged.has(t.scenario) ? `${judged.get(t.scenario)}; ${cell}` : cell);
    summary.push(`- ${t.label}: ${cell}`);
  }
  const out: string[] = [];
  out.push(`## ${input.started.toISOString().slice(0, 16).replace('T', ' ')} UTC — \`${input.command}\``, '');
  out.push(`Machine: ${input.machine}.`);
  out.push(`Layout: ${input.layout}. CPU % (100 = one core) and RSS cover every process of a proxy; ratios are to nginx in the same run; scale-Nw uses ${input.scaleTo} workers.`, '');
  out.push('| scenario | proxy | result | unit | ×nginx | p50 ms | p99 ms | p99 ×nginx | CPU % | RSS MB | target | notes |');
  out.push('|---|---|---:|---|---:|---:|---:|---:|---:|---:|---|---|');
  for (const r of rows) {
    const n = get(r.scenario, 'nginx');
    const base = n && !n.na ? n.value : null;
    const target = r.proxy === 'orion' ? judged.get(r.scenario) ?? '' : '';
    if (r.na) {
      out.push(`| ${r.scenario} | ${r.proxy} | n/a (${r.na}) | ${r.unit} | - | - | - | - | - | - | ${target} | |`);
      continue;
    }
    out.push(
      `| ${r.scenario} | ${r.proxy} | ${fmt(r.value, r.unit)} | ${r.unit} | ${ratio(r.value, base)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ` +
        `${ratio(r.p99, n && !n.na ? n.p99 : null)} | ${r.cpu === null ? '-' : Math.round(r.cpu)} | ${r.rssMb === null ? '-' : r.rssMb.toFixed(1)} | ${target} | ${r.notes.join('; ').replace(/\|/g, '/')} |`,
    );
  }
  if (summary.length > 0) out.push('', 'Targets (issue 7):', '', ...summary);
  if (input.warnings.length > 0) out.push('', 'Warnings:', '', ...input.warnings.map((w) => `- ${w}`));
  out.push('');
  return `${out.join('\n')}\n`;
}
