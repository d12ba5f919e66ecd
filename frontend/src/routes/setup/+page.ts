import { redirect } from '@sveltejs/kit';
import { api, call } from '$lib/api/client';
import { errorMessage } from '$lib/api/errors';
import type { PageLoad } from './$types';

export const load: PageLoad = async () => {
	let needsSetup: boolean;
	try {
		needsSetup = (await call(api.GET('/api/v1/setup'))).needs_setup;
	} catch (err) {
		return { checkError: errorMessage(err) };
	}
	if (!needsSetup) redirect(307, '/login');
	return { checkError: null };
};
