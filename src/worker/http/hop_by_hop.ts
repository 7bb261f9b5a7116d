// Headers that describe one hop and are never relayed (RFC 9110 §7.6.1, plus the framing headers
// the codec re-creates from the parsed framing).

/** Request headers the router does not copy upstream (host is written first on its own). */
export function isHopByHopRequest(n: string): boolean {
  switch (n) {
    case 'host':
    case 'connection':
    case 'keep-alive':
    case 'proxy-connection':
    case 'transfer-encoding':
    case 'content-length':
    case 'upgrade':
    case 'te':
    case 'expect':
      return true;
    default:
      return false;
  }
}

/** Response headers not copied downstream (server is handled by server_header_transformation). */
export function isHopByHopResponse(n: string): boolean {
  switch (n) {
    case 'connection':
    case 'keep-alive':
    case 'proxy-connection':
    case 'transfer-encoding':
    case 'content-length':
    case 'upgrade':
      return true;
    default:
      return false;
  }
}
