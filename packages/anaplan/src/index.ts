/**
 * @since 0.1.0
 */
export * as AnaplanAuthServer from "./AnaplanAuthServer.js"
/**
 * @since 0.1.0
 */
export * as TestCertificates from "./TestCertificates.js"
