/** The secret-leak audit (`@effect-auth/core/SecretAudit`), under the name the suites use. */
export { type Audit, type Captured, make as makeAudit, type Secret } from "@effect-auth/core/SecretAudit"
