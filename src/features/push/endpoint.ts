import { BlockList, isIP } from 'node:net'
import type { PushSubscription } from './schemas.ts'

/**
 * Addresses a push endpoint may not name: loopback, private, link-local, shared (CGNAT),
 * multicast and reserved ranges, and IPv6's equivalents (IPv4-mapped addresses included). A
 * user must not be able to make the server send requests into its own network.
 */
const INTERNAL = new BlockList()
for (const [network, prefix] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16],
  ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 3]] as const) {
  INTERNAL.addSubnet(network, prefix, 'ipv4')
}
for (const [network, prefix] of [['::', 128], ['::1', 128], ['::ffff:0:0', 96], ['64:ff9b::', 96], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) {
  INTERNAL.addSubnet(network, prefix, 'ipv6')
}

/** The host names and addresses of CHAT_PUSH_ALLOWED_HOSTS, lower-cased, IPv6 without brackets. */
export function allowedHostsOf (list: string | undefined): Set<string> {
  return new Set((list ?? '').split(',').map((host) => bare(host.trim().toLowerCase())).filter((host) => host !== ''))
}

const bare = (host: string) => host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host

/** Why a subscription may not be used (a `bad_request` message); undefined when it may. */
export function subscriptionRefusal (subscription: PushSubscription, allowed: ReadonlySet<string>): string | undefined {
  let url: URL
  try {
    url = new URL(subscription.endpoint)
  } catch {
    return 'the subscription\'s endpoint is not a URL'
  }
  const host = bare(url.hostname.toLowerCase())
  if (allowed.has(host)) {
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'the subscription\'s endpoint must be an http(s) URL'
  } else {
    if (url.protocol !== 'https:') return 'the subscription\'s endpoint must be an https URL'
    if (isInternal(host)) return `the subscription's endpoint names a loopback, private or link-local host (${host}), which CHAT_PUSH_ALLOWED_HOSTS does not list`
  }
  const publicKey = Buffer.from(subscription.keys.p256dh, 'base64url')
  if (publicKey.length !== 65 || publicKey[0] !== 4) return 'keys.p256dh must be the URL-safe base64 of an uncompressed P-256 public key (65 bytes)'
  if (Buffer.from(subscription.keys.auth, 'base64url').length !== 16) return 'keys.auth must be the URL-safe base64 of 16 bytes'
  return undefined
}

function isInternal (host: string): boolean {
  if (host === 'localhost' || host.endsWith('.localhost')) return true
  const family = isIP(host)
  if (family === 0) return false
  return INTERNAL.check(host, family === 4 ? 'ipv4' : 'ipv6')
}
