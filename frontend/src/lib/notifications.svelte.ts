import { errorMessage } from './api/errors';
import type { components } from './api/schema';

export type AppNotification = components['schemas']['Notification'];
export type NotificationFeedPage = components['schemas']['Feed'];

export interface FeedSource {
	load(workspaceId: string): Promise<NotificationFeedPage>;
	markRead(workspaceId: string, ids: string[] | null): Promise<{ unread: number }>;
}

/** The bell's state: the newest notifications and the unread count of one workspace. */
export class NotificationFeed {
	items = $state<AppNotification[]>([]);
	unread = $state(0);
	status = $state<'idle' | 'loading' | 'ready' | 'error'>('idle');
	error = $state<string | null>(null);

	#workspaceId: string | null = null;
	#source: FeedSource;

	constructor(source: FeedSource) {
		this.#source = source;
	}

	/** Load (or reload, e.g. when a `notification.created` event arrives) one workspace's feed. */
	async load(workspaceId: string): Promise<void> {
		if (workspaceId !== this.#workspaceId) {
			this.#workspaceId = workspaceId;
			this.items = [];
			this.status = 'loading';
		}
		try {
			const page = await this.#source.load(workspaceId);
			if (workspaceId !== this.#workspaceId) return; // switched meanwhile
			this.items = page.items;
			this.unread = page.unread;
			this.status = 'ready';
			this.error = null;
		} catch (err) {
			this.error = errorMessage(err);
			if (this.status !== 'ready') this.status = 'error';
		}
	}

	async reload(): Promise<void> {
		if (this.#workspaceId) await this.load(this.#workspaceId);
	}

	/** Mark some (or, with null, all) read; the badge updates at once, the server confirms. */
	async markRead(ids: string[] | null): Promise<void> {
		const workspaceId = this.#workspaceId;
		if (!workspaceId) return;
		const now = new Date().toISOString();
		const wanted = ids === null ? null : new Set(ids);
		this.items = this.items.map((n) =>
			n.read_at == null && (wanted === null || wanted.has(n.id)) ? { ...n, read_at: now } : n
		);
		try {
			this.unread = (await this.#source.markRead(workspaceId, ids)).unread;
		} catch (err) {
			this.error = errorMessage(err);
			await this.reload();
		}
	}
}
