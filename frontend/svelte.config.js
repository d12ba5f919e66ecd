import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
const config = {
	preprocess: vitePreprocess(),
	compilerOptions: {
		runes: true
	},
	kit: {
		// Hashes SvelteKit's inline boot script into a <meta> CSP, so the page runs
		// no inline script it did not ship.
		csp: {
			mode: 'hash',
			directives: { 'script-src': ['self'] }
		},
		// Single-page app: the Python process serves these files at `/` and falls
		// back to index.html for every other non-API path.
		adapter: adapter({
			pages: '../src/postwizard/web/dist',
			assets: '../src/postwizard/web/dist',
			fallback: 'index.html',
			precompress: false,
			strict: true
		})
	}
};

export default config;
