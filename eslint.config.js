import tseslint from "typescript-eslint"

export default tseslint.config(
  { ignores: ["docs/**", "**/dist/**", "**/build/**", "**/node_modules/**", "**/*.tsbuildinfo", "bench/RESULTS.md"] },
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-namespace": "off",
      "@typescript-eslint/no-empty-object-type": "off",
      "no-console": "error"
    }
  },
  {
    // CommonJS programs (the keyring helper) load their modules with require
    files: ["**/*.cjs"],
    rules: { "@typescript-eslint/no-require-imports": "off" }
  },
  {
    files: ["packages/cli/src/**", "bench/**", "examples/**", "**/demo/**", "**/scripts/**"],
    rules: { "no-console": "off" }
  }
)
