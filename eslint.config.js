import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "test-results/", "playwright-report/", ".stack*/", "views/static/js/"] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    languageOptions: { globals: { process: "readonly", console: "readonly", URL: "readonly", fetch: "readonly" } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-non-null-assertion": "error",
      "@typescript-eslint/no-explicit-any": "error",
      "no-empty": ["error", { allowEmptyCatch: false }],
      eqeqeq: "error",
    },
  },
  {
    // Routers match paths case-sensitively and strictly (src/http/router.ts says why).
    files: ["src/**/*.ts"],
    ignores: ["src/http/router.ts"],
    rules: {
      "no-restricted-syntax": [
        "error",
        { selector: "NewExpression[callee.name='Router']", message: "Make routers with createRouter() from src/http/router.ts." },
      ],
    },
  },
  {
    // mongosh scripts, run by the mongo image at initialisation: mongosh's globals.
    files: ["mongodb/initdb/*.js"],
    languageOptions: { globals: { db: "readonly", print: "readonly" } },
  },
  {
    // process.env has one reader in the app: src/config.ts. Scripts and tests set up their own.
    files: ["src/**/*.ts"],
    ignores: ["src/config.ts", "src/**/*.test.ts", "src/test/**"],
    rules: {
      "no-restricted-properties": [
        "error",
        { object: "process", property: "env", message: "Read configuration through src/config.ts." },
      ],
    },
  },
);
