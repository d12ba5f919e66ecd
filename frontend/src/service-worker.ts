/// <reference types="@sveltejs/kit" />
/// <reference no-default-lib="true"/>
/// <reference lib="esnext" />
/// <reference lib="webworker" />

/**
 * PostWizard's service worker: it only shows Web Push notifications and opens their link when
 * one is clicked. It caches nothing and handles no fetch, so the app behaves exactly as it
 * does without it. SvelteKit registers it at `/service-worker.js`.
 */

const sw = self as unknown as ServiceWorkerGlobalScope;

interface PushPayload {
	title?: string;
	body?: string;
	link?: string | null;
	type?: string;
}

sw.addEventListener('install', () => {
	void sw.skipWaiting();
});

sw.addEventListener('activate', (event) => {
	event.waitUntil(sw.clients.claim());
});

function payloadOf(event: PushEvent): PushPayload {
	if (!event.data) return {};
	try {
		return event.data.json() as PushPayload;
	} catch {
		return { body: event.data.text() };
	}
}

/** Only links into this app are opened (a push is from our server, but stay on the safe side). */
function sameOriginLink(link: string | null | undefined): string {
	const url = new URL(link || '/', sw.location.origin);
	return url.origin === sw.location.origin ? url.href : sw.location.origin + '/';
}

sw.addEventListener('push', (event) => {
	const payload = payloadOf(event);
	event.waitUntil(
		sw.registration.showNotification(payload.title || 'PostWizard', {
			body: payload.body ?? '',
			tag: payload.type,
			data: { link: sameOriginLink(payload.link) },
			icon: '/favicon.svg'
		})
	);
});

sw.addEventListener('notificationclick', (event) => {
	event.notification.close();
	const link = sameOriginLink((event.notification.data as { link?: string } | null)?.link);
	event.waitUntil(
		(async () => {
			const windows = await sw.clients.matchAll({ type: 'window', includeUncontrolled: true });
			for (const client of windows) {
				if (new URL(client.url).origin === sw.location.origin) {
					await client.focus();
					await client.navigate(link);
					return;
				}
			}
			await sw.clients.openWindow(link);
		})()
	);
});
