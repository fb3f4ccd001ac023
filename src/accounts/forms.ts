/** The shape and messages of every account form; routes parse with these and show the messages by field. */
import { z } from "zod";
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from "./passwords.js";

// eslint-disable-next-line no-control-regex -- rejecting control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

const email = z
  .string({ error: "Enter your email address." })
  .trim()
  .min(1, "Enter your email address.")
  .max(254, "That email address is too long.")
  .pipe(z.email("Enter an email address like name@example.com."));

const displayName = z
  .string({ error: "Enter your name." })
  .trim()
  .min(1, "Enter the name others will see.")
  .max(50, "Use at most 50 characters.")
  .refine((v) => !CONTROL.test(v), "Use letters, numbers and punctuation only.");

const newPassword = z
  .string({ error: "Choose a password." })
  .min(MIN_PASSWORD_LENGTH, `Use at least ${MIN_PASSWORD_LENGTH} characters.`)
  .max(MAX_PASSWORD_LENGTH, `Use at most ${MAX_PASSWORD_LENGTH} characters.`);

const currentPassword = z
  .string({ error: "Enter your password." })
  .min(1, "Enter your password.")
  .max(MAX_PASSWORD_LENGTH, "Enter your password.");

const code = z
  .string({ error: "Enter the 6-digit code." })
  .transform((v) => v.replace(/\s+/g, ""))
  .pipe(z.string().regex(/^\d{6}$/, "Enter the 6 digits from the email."));

export const signUpForm = z.object({ email, displayName, password: newPassword });
export const signInForm = z.object({ email, password: currentPassword });
export const codeForm = z.object({ code });
export const forgotForm = z.object({ email });
export const resetForm = z.object({ token: z.string().max(100), password: newPassword });
export const profileForm = z.object({
  displayName,
  status: z
    .string({ error: "Use letters, numbers and punctuation only." })
    .trim()
    .max(140, "Use at most 140 characters.")
    .refine((v) => !CONTROL.test(v), "Use letters, numbers and punctuation only.")
    .default(""),
});
// The current password of the forms below is read by the re-authentication check (routes/context.ts).
export const passwordChangeForm = z.object({ newPassword });
export const emailChangeForm = z.object({ email });
