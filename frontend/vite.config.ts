import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vitest/config';

// `npm run dev` proxies the API to a locally running `postwizard serve`.
const apiTarget = process.env.POSTWIZARD_API ?? 'http://127.0.0.1:8000';

export default defineConfig({
	plugins: [sveltekit()],
	build: {
		rolldownOptions: {
			// Keep `npm run build` output to what matters.
			checks: { pluginTimings: false }
		}
	},
	server: {
		proxy: {
			'/api': { target: apiTarget, changeOrigin: false, ws: false },
			'/healthz': apiTarget,
			'/readyz': apiTarget
		}
	},
	test: {
		include: ['src/**/*.test.ts'],
		environment: 'node'
	}
});
