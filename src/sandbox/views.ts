/**
 * Modals and Home tabs of the stand-in's workspace. Each member has at most one stack of modals
 * (a root view and the views pushed on it) and one Home tab.
 */
import { randomBytes } from 'node:crypto';
import type { JsonObject } from './http-io.js';
import type { Workspace } from './workspace.js';

/** A modal or Home tab, as last opened, pushed, updated or published. */
export interface StoredView {
  id: string;
  /** Member the view belongs to: the owner of the trigger id, or the Home tab's user. */
  userId: string | undefined;
  hash: string;
  rootViewId: string;
  /** The view below this one in its stack, for pushed modals. */
  previousViewId?: string;
  /** The view object as the app sent it. */
  view: JsonObject;
}

/** Views by id, modal stacks by member and Home tabs by member. */
export class ViewStore {
  private readonly views = new Map<string, StoredView>();
  private readonly stacks = new Map<string, string[]>();
  private readonly lastModalIdByUser = new Map<string | undefined, string>();
  private readonly homeViewIdByUser = new Map<string, string>();
  private lastModalId: string | undefined;
  private viewCount = 0;

  constructor(
    private readonly workspace: Workspace,
    private readonly now: () => number,
  ) {}

  get(id: string): StoredView | undefined {
    return this.views.get(id);
  }

  /** Finds a view by the `external_id` the app gave it. */
  findByExternalId(externalId: string): StoredView | undefined {
    return [...this.views.values()].find((stored) => stored.view.external_id === externalId);
  }

  /** Opens a modal as the root of a new stack, replacing any stack the member had open. */
  openModal(userId: string | undefined, view: JsonObject): StoredView {
    const id = this.nextViewId();
    const stored = this.store({ id, userId, hash: this.nextHash(), rootViewId: id, view });
    if (userId !== undefined) this.stacks.set(userId, [id]);
    this.workspace.notify({ kind: 'view', userId });
    return stored;
  }

  /** Pushes a modal on the member's stack, or opens one when no stack is open. */
  pushModal(userId: string | undefined, view: JsonObject): StoredView {
    const stack = userId === undefined ? undefined : this.stacks.get(userId);
    const top = stack?.at(-1);
    if (stack === undefined || top === undefined) {
      return this.openModal(userId, view);
    }
    const id = this.nextViewId();
    const rootViewId = stack[0] ?? id;
    const stored = this.store({ id, userId, hash: this.nextHash(), rootViewId, previousViewId: top, view });
    stack.push(id);
    this.workspace.notify({ kind: 'view', userId });
    return stored;
  }

  /** Replaces a view's content with a new hash; its id and place in the stack stay. */
  update(existing: StoredView, view: JsonObject): StoredView {
    const stored = this.store({ ...existing, hash: this.nextHash(), view });
    this.workspace.notify({ kind: 'view', userId: existing.userId });
    return stored;
  }

  /** Publishes a member's Home tab, which keeps one view id across publishes. */
  publishHome(userId: string, view: JsonObject): StoredView {
    const existing = this.homeView(userId);
    const id = existing?.id ?? this.nextViewId();
    const stored = this.store({ id, userId, hash: this.nextHash(), rootViewId: id, view });
    this.workspace.notify({ kind: 'view', userId });
    return stored;
  }

  /** Returns the number of views in a member's open stack. */
  stackDepth(userId: string | undefined): number {
    return userId === undefined ? 0 : (this.stacks.get(userId)?.length ?? 0);
  }

  /** Returns a member's open modals, root first. */
  openModals(userId: string): StoredView[] {
    const ids = this.stacks.get(userId) ?? [];
    return ids.map((id) => this.views.get(id)).filter((view): view is StoredView => view !== undefined);
  }

  /** Closes the top modal of a member's stack, which uncovers the one below. */
  closeTop(userId: string): void {
    this.stacks.get(userId)?.pop();
    if (this.stacks.get(userId)?.length === 0) this.stacks.delete(userId);
    this.workspace.notify({ kind: 'view', userId });
  }

  /** Closes every modal of a member's stack. */
  closeAll(userId: string): void {
    this.stacks.delete(userId);
    this.workspace.notify({ kind: 'view', userId });
  }

  /** Returns the modal last opened, pushed or updated for a member, or for anyone when omitted. */
  lastModal(userId?: string): StoredView | undefined {
    const id = userId === undefined ? this.lastModalId : this.lastModalIdByUser.get(userId);
    return id === undefined ? undefined : this.views.get(id);
  }

  /** Returns the Home tab last published for a member. */
  homeView(userId: string): StoredView | undefined {
    const id = this.homeViewIdByUser.get(userId);
    return id === undefined ? undefined : this.views.get(id);
  }

  /** Forgets every view and stack. */
  clear(): void {
    this.views.clear();
    this.stacks.clear();
    this.lastModalIdByUser.clear();
    this.homeViewIdByUser.clear();
    this.lastModalId = undefined;
  }

  private store(stored: StoredView): StoredView {
    this.views.set(stored.id, stored);
    if (stored.view.type === 'home' && stored.userId !== undefined) {
      this.homeViewIdByUser.set(stored.userId, stored.id);
    } else {
      this.lastModalIdByUser.set(stored.userId, stored.id);
      this.lastModalId = stored.id;
    }
    return stored;
  }

  private nextViewId(): string {
    this.viewCount += 1;
    return `V${String(this.viewCount).padStart(7, '0')}`;
  }

  private nextHash(): string {
    return `${Math.floor(this.now() / 1000)}.${randomBytes(4).toString('hex')}`;
  }
}
