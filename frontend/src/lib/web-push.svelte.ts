import { errorMessage } from './api/errors';

/** What "push on this browser" is at, as the settings page shows it. */
export type PushStatus =
	| 'checking'
	| 'unsupported'
	| 'denied'
	| 'off'
	| 'working'
	| 'on'
	| 'error';

export interface SubscriptionJson {
	endpoint: string;
	keys: { p256dh: string; auth: string };
}

/** The server side: the instance's key and the person's subscriptions. */
export interface PushServer {
	publicKey(): Promise<string>;
	subscriptions(): Promise<{ id: string; target: string }[]>;
	subscribe(subscription: SubscriptionJson): Promise<void>;
	unsubscribe(id: string): Promise<void>;
}

/** The browser side: what `navigator.serviceWorker`, `PushManager` and `Notification` give. */
export interface PushBrowser {
	supported(): boolean;
	permission(): NotificationPermission;
	requestPermission(): Promise<NotificationPermission>;
	registration(): Promise<ServiceWorkerRegistration>;
}

/** How long subscribing may take before the page says the push service did not answer. */
export const SUBSCRIBE_TIMEOUT_MS = 20_000;

export function applicationServerKey(base64url: string): Uint8Array<ArrayBuffer> {
	const base64 = (base64url + '='.repeat((4 - (base64url.length % 4)) % 4))
		.replace(/-/g, '+')
		.replace(/_/g, '/');
	const raw = atob(base64);
	const bytes = new Uint8Array(new ArrayBuffer(raw.length));
	for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
	return bytes;
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
	return new Promise<T>((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(message)), ms);
		promise.then(
			(value) => {
				clearTimeout(timer);
				resolve(value);
			},
			(err: unknown) => {
				clearTimeout(timer);
				reject(err instanceof Error ? err : new Error(String(err)));
			}
		);
	});
}

function asJson(subscription: PushSubscription): SubscriptionJson {
	const json = subscription.toJSON();
	return {
		endpoint: subscription.endpoint,
		keys: { p256dh: json.keys?.['p256dh'] ?? '', auth: json.keys?.['auth'] ?? '' }
	};
}

export const PUSH_SERVICE_UNAVAILABLE =
	"This browser could not register with its push service, so push cannot be turned on here. " +
	'Browsers deliver pushes through their maker’s service on the internet (Google’s for ' +
	'Chrome, Mozilla’s for Firefox): check the connection and try again. Some builds (Chromium ' +
	'without Google’s keys, for one) cannot use push at all.'

/** Push notifications on this browser: find out where they stand, turn them on or off. */
export class WebPush {
	status = $state<PushStatus>('checking');
	error = $state<string | null>(null);

	#server: PushServer;
	#browser: PushBrowser;
	#timeoutMs: number;

	constructor(server: PushServer, browser: PushBrowser, timeoutMs = SUBSCRIBE_TIMEOUT_MS) {
		this.#server = server;
		this.#browser = browser;
		this.#timeoutMs = timeoutMs;
	}

	/** Where push stands here; a subscription the server lost is registered again. */
	async check(): Promise<void> {
		this.error = null;
		if (!this.#browser.supported()) {
			this.status = 'unsupported';
			return;
		}
		if (this.#browser.permission() === 'denied') {
			this.status = 'denied';
			return;
		}
		try {
			const registration = await this.#browser.registration();
			const current = await registration.pushManager.getSubscription();
			if (!current) {
				this.status = 'off';
				return;
			}
			const known = await this.#server.subscriptions();
			if (!known.some((s) => s.target === current.endpoint)) {
				await this.#server.subscribe(asJson(current));
			}
			this.status = 'on';
		} catch (err) {
			this.#fail(errorMessage(err));
		}
	}

	async enable(): Promise<void> {
		this.error = null;
		this.status = 'working';
		try {
			const permission = await this.#browser.requestPermission();
			if (permission === 'denied') {
				this.status = 'denied';
				return;
			}
			if (permission !== 'granted') {
				this.status = 'off';
				this.error = 'Push stays off: the browser did not get permission to show notifications.';
				return;
			}
			const key = await this.#server.publicKey();
			const registration = await this.#browser.registration();
			let subscription: PushSubscription;
			try {
				subscription = await withTimeout(
					registration.pushManager.subscribe({
						userVisibleOnly: true,
						applicationServerKey: applicationServerKey(key)
					}),
					this.#timeoutMs,
					'the push service did not answer in time'
				);
			} catch (err) {
				this.#fail(`${PUSH_SERVICE_UNAVAILABLE} (${err instanceof Error ? err.message : String(err)})`);
				return;
			}
			try {
				await this.#server.subscribe(asJson(subscription));
			} catch (err) {
				await subscription.unsubscribe().catch(() => false);
				throw err;
			}
			this.status = 'on';
		} catch (err) {
			this.#fail(errorMessage(err));
		}
	}

	async disable(): Promise<void> {
		this.error = null;
		this.status = 'working';
		try {
			const registration = await this.#browser.registration();
			const current = await registration.pushManager.getSubscription();
			if (current) {
				const known = await this.#server.subscriptions();
				for (const s of known.filter((s) => s.target === current.endpoint)) {
					await this.#server.unsubscribe(s.id);
				}
				await current.unsubscribe();
			}
			this.status = 'off';
		} catch (err) {
			this.#fail(errorMessage(err));
		}
	}

	#fail(message: string): void {
		this.status = 'error';
		this.error = message;
	}
}
