// oidc-provider ships no type declarations; this is the little the tests use.
declare module "oidc-provider" {
  export default class Provider {
    constructor(issuer: string, configuration?: Record<string, unknown>)
    callback(): (
      req: import("node:http").IncomingMessage,
      res: import("node:http").ServerResponse
    ) => void
    on(event: string, listener: (...args: ReadonlyArray<unknown>) => void): this
  }
}
