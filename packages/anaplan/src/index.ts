/**
 * @since 0.1.0
 */
export * as AnaplanAuth from "./AnaplanAuth.js"
/**
 * @since 0.1.0
 */
export * as AnaplanClient from "./AnaplanClient.js"
/**
 * @since 0.1.0
 */
export * as AnaplanOAuth from "./AnaplanOAuth.js"
