/** A request the adapter cannot carry out; the message says why, in words, for the user. */
export class RequestError extends Error {}
