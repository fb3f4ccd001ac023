/** The local OpenID provider's sign-in page (see scripts/oidc-provider.ts). Plain HTML, no script. */

export const QUIRKS = ["none", "wrong-audience", "expired"] as const;
export type Quirk = (typeof QUIRKS)[number];

const escape = (text: string) =>
  text.replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&#39;" })[c] ?? c);

const STYLE = `
  body { font: 16px/1.5 system-ui, sans-serif; background: #f1f3f4; color: #202124; margin: 0; }
  main { max-width: 400px; margin: 48px auto; background: #fff; border-radius: 8px; padding: 32px;
         box-shadow: 0 1px 3px rgba(0,0,0,.2); }
  h1 { font-size: 24px; font-weight: 400; margin: 0 0 8px; }
  label { display: block; margin: 16px 0 4px; font-size: 14px; }
  input[type=email], input[type=text], select { width: 100%; box-sizing: border-box; padding: 10px; font: inherit;
         border: 1px solid #dadce0; border-radius: 4px; }
  .check { display: flex; gap: 8px; align-items: center; }
  .actions { display: flex; justify-content: space-between; margin-top: 24px; }
  button { font: inherit; padding: 8px 24px; border-radius: 4px; border: 0; cursor: pointer; }
  .primary { background: #1a73e8; color: #fff; }
  .secondary { background: none; color: #1a73e8; }
  details { margin-top: 16px; font-size: 14px; color: #5f6368; }
  .muted { color: #5f6368; font-size: 14px; }`;

/** The sign-in form for interaction `uid`: who you are, plus test options that bend the tokens. */
export function interactionPage(uid: string, clientId: string): string {
  const action = `/interaction/${encodeURIComponent(uid)}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · Local OpenID provider</title><style>${STYLE}</style></head>
<body><main>
  <h1>Sign in</h1>
  <p class="muted">to continue to <strong>${escape(clientId)}</strong> (local test provider standing in for Google)</p>
  <form method="post" action="${action}">
    <label for="email">Email</label>
    <input id="email" name="email" type="email" autocomplete="off" required autofocus>
    <label for="name">Name</label>
    <input id="name" name="name" type="text" autocomplete="off">
    <p class="check"><input id="emailVerified" name="emailVerified" type="checkbox" checked>
      <label for="emailVerified">This email address is verified</label></p>
    <details><summary>Test options</summary>
      <label for="sub">Subject (sub); empty: derived from the email</label>
      <input id="sub" name="sub" type="text" autocomplete="off">
      <label for="quirk">ID token</label>
      <select id="quirk" name="quirk">${QUIRKS.map((q) => `<option value="${q}">${q}</option>`).join("")}</select>
    </details>
    <div class="actions">
      <button class="secondary" type="submit" name="action" value="cancel" formnovalidate>Cancel</button>
      <button class="primary" type="submit" name="action" value="login">Next</button>
    </div>
  </form>
</main></body></html>`;
}
