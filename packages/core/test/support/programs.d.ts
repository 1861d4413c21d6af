export interface Program {
    readonly name: string;
    readonly path: string | undefined;
    readonly available: boolean;
    /** Why the tests that need it cannot run, and what to install. */
    readonly missing: string;
}
export declare const find: (name: string, debianPackage: string) => Program;
export declare const isCI: boolean;
/**
 * Whether tests needing `programs` should run. When one is missing: under CI returns `true` so
 * that they run and fail naming it; locally prints why and returns `false`.
 */
export declare const shouldRun: (...programs: ReadonlyArray<Program>) => boolean;
/** Throws naming the missing program (for CI, where a missing component fails the run). */
export declare const ensure: (...programs: ReadonlyArray<Program>) => void;
//# sourceMappingURL=programs.d.ts.map