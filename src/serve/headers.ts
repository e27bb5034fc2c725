// The headers serve sends with every answer, the dashboard's and the webhook's alike.

/**
 * The pages load scripts, styles, images and data from serve only and run nothing inline;
 * no other site may frame them (clickjacking); no browser guesses a type other than the
 * one sent (a log line that looks like HTML stays text).
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "Content-Security-Policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "Referrer-Policy": "no-referrer",
};
