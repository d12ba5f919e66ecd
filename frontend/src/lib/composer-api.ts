/** API calls shared by the composer, the post detail and the approvals inbox. */
import { api, call } from './api/client';
import type { Account, Media, Post } from './composer';

import type { Member } from './api/types';

/** Every account of the workspace (following the cursor; workspaces have few). */
export async function fetchAllAccounts(workspaceId: string): Promise<Account[]> {
	const out: Account[] = [];
	let cursor: string | null = null;
	for (let i = 0; i < 10; i++) {
		const page: { items: Account[]; next_cursor?: string | null } = await call(
			api.GET('/api/v1/workspaces/{workspace_id}/accounts', {
				params: { path: { workspace_id: workspaceId }, query: { limit: 200, ...(cursor ? { cursor } : {}) } }
			})
		);
		out.push(...page.items);
		cursor = page.next_cursor ?? null;
		if (!cursor) break;
	}
	return out;
}

/** Members by user id, for naming authors and actors; empty when the list cannot be read. */
export async function fetchMemberNames(workspaceId: string): Promise<Map<string, string>> {
	const names = new Map<string, string>();
	try {
		const page: { items: Member[] } = await call(
			api.GET('/api/v1/workspaces/{workspace_id}/members', {
				params: { path: { workspace_id: workspaceId }, query: { limit: 200 } }
			})
		);
		for (const m of page.items) names.set(m.user_id, m.name || m.email);
	} catch {
		// Names are a nicety; fall back to "Someone".
	}
	return names;
}

export function fetchPost(workspaceId: string, postId: string): Promise<Post> {
	return call(
		api.GET('/api/v1/workspaces/{workspace_id}/posts/{post_id}', {
			params: { path: { workspace_id: workspaceId, post_id: postId } }
		})
	);
}

/** The media items with these ids, in order; ids that cannot be loaded are left out. */
export async function fetchMediaItems(workspaceId: string, ids: readonly string[]): Promise<{ items: Media[]; missing: number }> {
	const results = await Promise.all(
		[...new Set(ids)].map((id) =>
			call(
				api.GET('/api/v1/workspaces/{workspace_id}/media/{media_id}', {
					params: { path: { workspace_id: workspaceId, media_id: id } }
				})
			).catch(() => null)
		)
	);
	const byId = new Map(results.filter((m): m is Media => m !== null).map((m) => [m.id, m]));
	const items = ids.map((id) => byId.get(id)).filter((m): m is Media => m !== undefined);
	return { items, missing: ids.length - items.length };
}
