/** Builds the binary into `outdir` (its previous chunks removed) and returns the entry's path (`bin.cjs`). */
export declare const bundle: (outdir: string) => Promise<string>
