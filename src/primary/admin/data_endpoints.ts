// Endpoints that show stats and configuration: /stats, /stats/prometheus, /clusters,
// /listeners, /config_dump.
import { renderClustersJson, renderClustersText, hostAddress } from './clusters_render.ts';
import { filterConfigDump } from './config_dump.ts';
import type { AdminContext } from './context.ts';
import { JSON_TYPE, TEXT, json, text, type AdminRequest, type AdminResponse, type Endpoint } from './endpoint.ts';
import { renderPrometheus } from './prometheus_render.ts';
import { parseStatsQuery, renderStatsJson, renderStatsText } from './stats_render.ts';
import type { TagExtractor } from './tag_extraction.ts';

const FILTER_HELP = { name: 'filter', help: 'regular expression; only stats whose name it matches' };
const USED_HELP = { name: 'usedonly', help: 'only stats that have been written' };
const FORMAT_HELP = { name: 'format', help: 'text (default) or json' };

export function dataEndpoints(ctx: AdminContext, tagger: TagExtractor): Endpoint[] {
  return [
    {
      path: '/stats',
      help: 'all stats',
      mutates: false,
      params: [
        FILTER_HELP,
        USED_HELP,
        { name: 'format', help: 'text (default), json or prometheus' },
        { name: 'type', help: 'All, Counters, Gauges, Histograms or TextReadouts' },
        { name: 'histogram_buckets', help: 'none (quantiles), cumulative or disjoint' },
      ],
      handle: (req) => stats(ctx, tagger, req, false),
    },
    {
      path: '/stats/prometheus',
      help: 'all stats in Prometheus text format',
      mutates: false,
      params: [FILTER_HELP, USED_HELP],
      handle: (req) => stats(ctx, tagger, req, true),
    },
    {
      path: '/clusters',
      help: 'upstream clusters and their hosts',
      mutates: false,
      params: [FORMAT_HELP],
      handle: (req) =>
        isJson(req)
          ? { status: 200, body: renderClustersJson(ctx.clusters()), contentType: JSON_TYPE }
          : text(renderClustersText(ctx.clusters())),
    },
    { path: '/listeners', help: 'listeners and their addresses', mutates: false, params: [FORMAT_HELP], handle: (req) => listeners(ctx, req) },
    {
      path: '/config_dump',
      help: 'the current configuration',
      mutates: false,
      params: [
        { name: 'resource', help: 'one repeated field of the dump, e.g. dynamic_active_clusters' },
        { name: 'mask', help: 'field mask: comma separated field paths to keep' },
        { name: 'name_regex', help: 'only resources whose name matches' },
        { name: 'include_eds', help: 'add the endpoints of every cluster' },
      ],
      handle: (req) => configDump(ctx, req),
    },
  ];
}

function isJson(req: AdminRequest): boolean {
  return req.query.get('format') === 'json';
}

async function stats(ctx: AdminContext, tagger: TagExtractor, req: AdminRequest, prom: boolean): Promise<AdminResponse> {
  const q = parseStatsQuery(req.query);
  if (typeof q === 'string') return text(q, 400);
  const dump = await ctx.collectStats();
  if (prom || q.format === 'prometheus') return { status: 200, body: renderPrometheus(dump, tagger, q), contentType: TEXT };
  if (q.format === 'json') return { status: 200, body: renderStatsJson(dump, q), contentType: JSON_TYPE };
  return text(renderStatsText(dump, q));
}

function listeners(ctx: AdminContext, req: AdminRequest): AdminResponse {
  const list = ctx.listeners();
  if (isJson(req)) {
    return json({
      listener_statuses: list.map((l) => ({
        name: l.name,
        local_address: { socket_address: { address: l.address.host, port_value: l.address.port } },
      })),
    });
  }
  return text(list.map((l) => `${l.name}::${hostAddress(l.address.host, l.address.port)}\n`).join(''));
}

function configDump(ctx: AdminContext, req: AdminRequest): AdminResponse {
  const q = req.query;
  let nameRegex: RegExp | null = null;
  const nr = q.get('name_regex');
  if (nr) {
    try {
      nameRegex = new RegExp(nr);
    } catch (e) {
      return text(`Error while parsing name_regex from ${nr}: ${(e as Error).message}`, 400);
    }
  }
  const dump = ctx.configDump({ includeEds: q.has('include_eds') });
  const r = filterConfigDump(dump, { resource: q.get('resource') || null, mask: q.get('mask') || null, nameRegex });
  return r.status === 200 ? json(r.json) : text(r.text, r.status);
}
