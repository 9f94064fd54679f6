/** The native protocol versions this codec speaks; the message layouts differ between them (spec v5 section 9). */
export type ProtocolVersion = 4 | 5
