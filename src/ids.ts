/** The check for a MongoDB id that arrives from outside (a URL, a form), so a malformed one is refused before any query. */

/** Whether `id` is an ObjectId as Duet writes it: 24 lowercase hex digits (users, sign-up attempts). */
export const isObjectIdHex = (id: string): boolean => /^[a-f0-9]{24}$/.test(id);
