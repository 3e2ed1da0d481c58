/** `callback_id`s of the administration modals and `action_id`s of the role page. */
export const ADMIN_VIEWS = {
  rolePage: 'admin_role_page',
  roleForm: 'admin_role_form',
  deleteRole: 'admin_delete_role',
  assignmentForm: 'admin_assignment_form',
  removeAssignment: 'admin_remove_assignment',
  setupWizard: 'admin_setup',
  importManagers: 'admin_managers',
} as const;

export const ROLE_PAGE_ACTIONS = {
  /** Overflow menu on a holder row; option values are `change:<assignmentId>` or `remove:<assignmentId>`. */
  holderMenu: 'role_holder_menu',
  addHolder: 'role_add_holder',
  editRole: 'role_edit',
  deleteRole: 'role_delete',
  /** Previous and Next of the holder list; value: page number. */
  page: 'role_page',
} as const;

/** Block and action ids of the administration forms' inputs. */
export const FORM_BLOCKS = {
  name: 'name',
  slug: 'slug',
  description: 'description',
  user: 'user',
  kind: 'kind',
  endDate: 'end_date',
  reason: 'reason',
  assignments: 'assignments',
  managers: 'managers',
} as const;
export const VALUE_ACTION = 'value';

/** What a role page modal carries in `private_metadata`. */
export interface RolePageState {
  roleId: string;
  page: number;
}

/** What a form pushed over a role page carries: its subject, and the page view to refresh after. */
export interface FormState {
  roleId: string;
  assignmentId?: string;
  userId?: string;
  parentViewId?: string;
}
