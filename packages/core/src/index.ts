/**
 * @since 0.1.0
 */
export * as AuthError from "./AuthError.js"
/**
 * @since 0.1.0
 */
export * as AuthHttpClient from "./AuthHttpClient.js"
/**
 * @since 0.1.0
 */
export * as AuthResponse from "./AuthResponse.js"
/**
 * @since 0.1.0
 */
export * as AuthStrategy from "./AuthStrategy.js"
/**
 * @since 0.1.0
 */
export * as RefreshPolicy from "./RefreshPolicy.js"
/**
 * @since 0.1.0
 */
export * as Token from "./Token.js"
/**
 * @since 0.1.0
 */
export * as TokenSource from "./TokenSource.js"
/**
 * @since 0.1.0
 */
export * as LoginAgent from "./LoginAgent.js"
/**
 * @since 0.1.0
 */
export * as OAuth2 from "./OAuth2.js"
/**
 * @since 0.1.0
 */
export * as OAuth2Auth from "./OAuth2Auth.js"
/**
 * @since 0.1.0
 */
export * as TokenStore from "./TokenStore.js"
/**
 * @since 0.1.0
 */
export * as TokenLock from "./TokenLock.js"
/**
 * @since 0.1.0
 */
export * as SecureFileStore from "./SecureFileStore.js"
/**
 * @since 0.1.0
 */
export * as KeyringStore from "./KeyringStore.js"
/**
 * @since 0.1.0
 */
export * as CredentialStorage from "./CredentialStorage.js"
/**
 * @since 0.1.0
 */
export * as Sites from "./Sites.js"
/**
 * @since 0.1.0
 */
export * as SecretAudit from "./SecretAudit.js"
/**
 * @since 0.1.0
 */
export * as Paths from "./Paths.js"
/**
 * @since 0.1.0
 */
export * as HttpTransport from "./HttpTransport.js"
/**
 * @since 0.1.0
 */
export * as TransportError from "./TransportError.js"
