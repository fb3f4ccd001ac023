import js from "@eslint/js";
import tseslint from "typescript-eslint";

/**
 * Imports point down only: core (config, errors, keys, master keys, logger, views, mail) ←
 * http, realtime, health, pages ← accounts ← chat, oauth ← export, backup, cli, app, server. A lower
 * layer that needs something from a higher one is handed it (a hook, a parameter). The browser
 * code takes only the chat protocol's types.
 */
function layers() {
  const above = {
    core: ["http", "realtime", "health", "pages", "accounts", "chat", "oauth", "export", "backup", "cli", "client"],
    edge: ["accounts", "chat", "oauth", "export", "backup", "cli", "client"],
    accounts: ["chat", "oauth", "export", "backup", "cli", "client"],
    chat: ["oauth", "export", "backup", "cli", "client"],
    oauth: ["chat", "export", "backup", "cli", "client"],
  };
  const rule = (name, folders) => ({
    "no-restricted-imports": [
      "error",
      {
        patterns: [
          {
            regex: `^(\\./|(\\.\\./)+)(${folders.join("|")})/`,
            message: `${name} sits below ${folders.join(", ")}: pass what it needs in from above (src/app.ts wires it).`,
          },
          { regex: "^(\\./|(\\.\\./)+)(app|server)\\.js$", message: "Nothing imports the app's wiring." },
        ],
      },
    ],
  });
  const notTests = ["src/**/*.test.ts", "src/test/**"];
  return [
    {
      files: ["src/*.ts", "src/mail/**/*.ts"],
      ignores: ["src/app.ts", "src/server.ts", ...notTests],
      rules: rule("core", above.core),
    },
    {
      files: ["src/http/**/*.ts", "src/realtime/**/*.ts", "src/health/**/*.ts", "src/pages/**/*.ts"],
      ignores: notTests,
      rules: rule("this edge module", above.edge),
    },
    { files: ["src/accounts/**/*.ts"], ignores: notTests, rules: rule("accounts", above.accounts) },
    { files: ["src/chat/**/*.ts"], ignores: notTests, rules: rule("chat", above.chat) },
    { files: ["src/oauth/**/*.ts"], ignores: notTests, rules: rule("oauth", above.oauth) },
    {
      files: ["src/client/**/*.ts"],
      rules: {
        "no-restricted-imports": [
          "error",
          {
            patterns: [
              {
                regex: "^\\.\\./(?!chat/protocol\\.js$)",
                message: "The browser bundle takes only the chat protocol (src/chat/protocol.ts) from the server's code.",
              },
            ],
          },
        ],
      },
    },
  ];
}

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
  ...layers(),
  {
    // Routes parse, authorize and call a domain function: the writes live in the domain modules.
    // Every file that makes a router is one of these (pages/ holds nothing but page routes).
    files: ["src/**/routes.ts", "src/**/routes/*.ts", "src/pages/*.ts"],
    rules: {
      "no-restricted-syntax": [
        "error",
        { selector: "NewExpression[callee.name='Router']", message: "Make routers with createRouter() from src/http/router.ts." },
        {
          selector: "ImportSpecifier[imported.name=/Model$/]",
          message: "Routes import no model: call a function of the domain module instead.",
        },
        {
          selector: "ImportDeclaration[source.value='mongoose']",
          message: "Routes import no model: call a function of the domain module instead.",
        },
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
