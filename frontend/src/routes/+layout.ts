// Single-page app: everything renders in the browser; the Python process serves
// index.html for every non-API path.
export const ssr = false;
export const prerender = false;
