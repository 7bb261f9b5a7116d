// Http2ProtocolOptions → Http2OptionsSnap (HCM downstream and cluster upstream), Envoy's defaults.
import type { Http2OptionsSnap } from '../../../shared/snapshot.ts';
import { checkRest, join, num, obj, type Ctx, type Obj } from './context.ts';

/** Envoy's defaults: effectively unlimited streams and 256 MiB windows. */
export const HTTP2_DEFAULTS: Http2OptionsSnap = {
  maxConcurrentStreams: 2147483647,
  initialStreamWindowSize: 268435456,
  initialConnectionWindowSize: 268435456,
  hpackTableSize: 4096,
};

const HANDLED = ['max_concurrent_streams', 'initial_stream_window_size', 'initial_connection_window_size', 'hpack_table_size'];
/** Envoy's flood protection limits: our downstream codec enforces them (the HCM passes these). */
export const HTTP2_FLOOD_FIELDS = ['max_outbound_frames', 'max_outbound_control_frames', 'max_consecutive_inbound_frames_with_empty_payload', 'max_inbound_priority_frames_per_stream', 'max_inbound_window_update_frames_per_data_frame_sent'];
const REJECTED = {
  allow_metadata: 'HTTP/2 METADATA frames are not supported',
};

/** `extraHandled`: fields the caller reads itself (e.g. the HCM's allow_connect). */
export function http2Options(v: unknown, path: string, ctx: Ctx, extraHandled: string[] = []): Http2OptionsSnap {
  const o: Obj = obj(v);
  checkRest(ctx, o, path, [...HANDLED, ...extraHandled], REJECTED);
  const out: Http2OptionsSnap = {
    maxConcurrentStreams: num(o.max_concurrent_streams, HTTP2_DEFAULTS.maxConcurrentStreams),
    initialStreamWindowSize: num(o.initial_stream_window_size, HTTP2_DEFAULTS.initialStreamWindowSize),
    initialConnectionWindowSize: num(o.initial_connection_window_size, HTTP2_DEFAULTS.initialConnectionWindowSize),
    hpackTableSize: num(o.hpack_table_size, HTTP2_DEFAULTS.hpackTableSize),
  };
  if (extraHandled.includes('max_outbound_frames')) {
    // Envoy's defaults; 0 is not allowed by the proto (PGV gte 1) except for the empty-payload one.
    out.maxOutboundFrames = num(o.max_outbound_frames, 10000);
    out.maxOutboundControlFrames = num(o.max_outbound_control_frames, 1000);
    out.maxConsecutiveInboundFramesWithEmptyPayload = num(o.max_consecutive_inbound_frames_with_empty_payload, 1);
    out.maxInboundPriorityFramesPerStream = num(o.max_inbound_priority_frames_per_stream, 100);
    out.maxInboundWindowUpdateFramesPerDataFrameSent = num(o.max_inbound_window_update_frames_per_data_frame_sent, 10);
  }
  // The proto's own bounds (PGV) are checked by the decoder; these are the RFC 9113 ones it leaves.
  if (out.maxConcurrentStreams < 1) ctx.issues.error(join(path, 'max_concurrent_streams'), 'must be at least 1');
  if (out.initialStreamWindowSize < 65535) ctx.issues.error(join(path, 'initial_stream_window_size'), 'must be at least 65535');
  if (out.initialConnectionWindowSize < 65535) ctx.issues.error(join(path, 'initial_connection_window_size'), 'must be at least 65535');
  return out;
}
