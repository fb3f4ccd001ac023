/** Every way a Google sign-in can end without signing anyone in, as the page the user sees. */
export type ProblemReason = "cancelled" | "state" | "used" | "invalid" | "unverified" | "provider" | "conflict" | "otherAccount";

export type Problem = { status: number; title: string; message: string; retry: boolean };

export const PROBLEMS: Record<ProblemReason, Problem> = {
  cancelled: {
    status: 200,
    title: "You cancelled signing in with Google",
    message: "Nothing was changed. You can sign in another way, or try Google again.",
    retry: true,
  },
  state: {
    status: 400,
    title: "This sign-in didn't match",
    message:
      "The answer from Google didn't belong to the sign-in started in this browser, so it was refused and nothing was changed. " +
      "This can happen when signing in from two tabs at once. Start again from here.",
    retry: true,
  },
  used: {
    status: 400,
    title: "This sign-in has expired",
    message:
      "Each Google sign-in works once, and this one was already used or has expired. Nothing was changed. Start again from here.",
    retry: true,
  },
  invalid: {
    status: 400,
    title: "Google's answer could not be verified",
    message:
      "We couldn't confirm that the answer came from Google for this site, so nobody was signed in and nothing was changed. " +
      "Try again; if it keeps happening, tell whoever runs this Duet.",
    retry: true,
  },
  unverified: {
    status: 403,
    title: "Your Google email isn't verified",
    message:
      "Google hasn't confirmed that you own that email address, so Duet can't use it and nothing was created. " +
      "Verify the address with Google first, or create an account with your email instead.",
    retry: false,
  },
  provider: {
    status: 502,
    title: "Google didn't answer",
    message: "We couldn't finish signing you in with Google. Nothing was changed. Try again in a moment.",
    retry: true,
  },
  otherAccount: {
    status: 403,
    title: "That's a different Google account",
    message: "To confirm it's you, sign in at Google with the Google account linked to your Duet account. Nothing was changed.",
    retry: false,
  },
  conflict: {
    status: 409,
    title: "That Google account can't be linked",
    message: "Nothing was changed.",
    retry: false,
  },
};
