/** The secret-leak audit, now the public `@effect-auth/core/SecretAudit`, under the name the suites use. */
export { type Audit, type Captured, make as makeAudit, type Secret } from "../../src/SecretAudit.js"
