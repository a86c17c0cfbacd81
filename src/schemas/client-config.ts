import Type, { type Static } from 'typebox'

/** GET /client-config: what a chat page must know before it connects. */
export const ClientConfig = Type.Object({
  auth: Type.Union([Type.Literal('dev'), Type.Literal('jwt'), Type.Literal('app')], {
    description: '`dev`: connect with ?user=<id>; `jwt`: connect with ?token=<jwt>; `app`: the app serving the page knows the user (its session goes with the upgrade)'
  }),
  maxText: Type.Integer({ minimum: 1, description: 'longest message text in characters (CHAT_MAX_TEXT)' }),
  adminToken: Type.Boolean({ description: "whether the operators' REST API asks for a bearer token (CHAT_ADMIN_TOKEN is set)" })
})
export type ClientConfig = Static<typeof ClientConfig>
