import { redirect } from '@sveltejs/kit';
import { api, call } from '$lib/api/client';
import type { PageLoad } from './$types';

export const load: PageLoad = async () => {
	let needsSetup = false;
	try {
		needsSetup = (await call(api.GET('/api/v1/setup'))).needs_setup;
	} catch {
		// The server may be briefly unreachable; the form shows the error on submit.
	}
	if (needsSetup) redirect(307, '/setup');
};
