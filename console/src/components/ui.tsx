// Small shared building blocks: links, headings, empty states, errors, fields. Accessible by construction
// (labels tied to inputs, alerts announced, focus moved to a page's heading on navigation).
import type { ComponentChildren, JSX } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { onLinkClick } from '../router';

export function Link(props: { href: string; children: ComponentChildren; class?: string; 'aria-current'?: 'page' | undefined }): JSX.Element {
  return (
    <a href={props.href} class={props.class} aria-current={props['aria-current']} onClick={onLinkClick}>
      {props.children}
    </a>
  );
}

export function PageTitle(props: { children: ComponentChildren; actions?: ComponentChildren }): JSX.Element {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => ref.current?.focus(), []);
  return (
    <div class="page-head">
      <h1 tabIndex={-1} ref={ref}>
        {props.children}
      </h1>
      {props.actions ? <div class="actions">{props.actions}</div> : null}
    </div>
  );
}

export function EmptyState(props: { title: string; children: ComponentChildren }): JSX.Element {
  return (
    <div class="empty">
      <h2>{props.title}</h2>
      <p>{props.children}</p>
    </div>
  );
}

export function ErrorBanner(props: { error: string | null }): JSX.Element | null {
  if (!props.error) return null;
  return (
    <p class="error" role="alert">
      {props.error}
    </p>
  );
}

export function Loading(): JSX.Element {
  return (
    <p class="muted" role="status">
      Loading…
    </p>
  );
}

export function Field(props: { label: string; id: string; hint?: string; children: ComponentChildren }): JSX.Element {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      {props.children}
      {props.hint ? (
        <small id={`${props.id}-hint`} class="muted">
          {props.hint}
        </small>
      ) : null}
    </div>
  );
}

export function StatusBadge(props: { status: string }): JSX.Element {
  return <span class={`badge badge-${props.status}`}>{props.status}</span>;
}

export function Stat(props: { label: string; value: string; detail?: string }): JSX.Element {
  return (
    <div class="stat">
      <div class="stat-label">{props.label}</div>
      <div class="stat-value">{props.value}</div>
      {props.detail ? <div class="muted">{props.detail}</div> : null}
    </div>
  );
}
