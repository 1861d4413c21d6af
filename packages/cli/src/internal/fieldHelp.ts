/**
 * The value placeholder of each setting of a site (`--token-url URL`), for the `sites add` and
 * `sites modify` options.
 *
 * @internal
 */
/** The option's value placeholder: URL, FILE, DIR or the setting's name. @internal */
export const placeholder = (field: string): string =>
  field.endsWith("_url") || field === "issuer" || field === "redirect_uri"
    ? "URL"
    : field.endsWith("_file") || field === "certificate" || field === "private_key"
    ? "FILE"
    : field.endsWith("_dir")
    ? "DIR"
    : field.toUpperCase()
