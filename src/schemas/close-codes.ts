/** Close codes the server sends (RFC 6455 and the contract): part of the wire protocol. */
export const CloseCode = {
  goingAway: 1001,
  invalidData: 1007,
  policy: 1008,
  tooLarge: 1009,
  tryAgainLater: 1013
} as const
