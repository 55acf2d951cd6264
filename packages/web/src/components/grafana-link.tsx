import { ExternalLink } from 'lucide-react';

/** A link into Grafana (a whole dashboard), in a new tab: Grafana is another application. */
export function GrafanaLink({ href, children }: { href: string; children: string }) {
  return (
    <a
      href={href}
      target="_blank"
      rel="noopener noreferrer"
      className="inline-flex items-center gap-1 text-sm font-medium text-teal-800 underline-offset-2 hover:underline dark:text-teal-300"
    >
      {children}
      <ExternalLink aria-hidden className="size-3.5" />
      <span className="sr-only"> (opens a new tab)</span>
    </a>
  );
}
