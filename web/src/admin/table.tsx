import type { ComponentChildren } from 'preact';

/** One column of a list: its heading and what each row shows in it. */
export interface Column<T> {
  label: string;
  cell: (row: T) => ComponentChildren;
  /** A class for the cell, e.g. `warn` when the value needs attention. */
  tone?: (row: T) => string;
  testId?: (row: T) => string;
}

/**
 * Every list on the dashboard: a table whose first column names the row (a row header), each row
 * tagged with `data-<rowAttr>` so tests and people can find it; `empty` replaces the table when
 * there is nothing to list.
 */
export function ListTable<T>(props: {
  columns: Column<T>[];
  rows: readonly T[] | undefined;
  rowKey: (row: T) => string;
  rowAttr?: string;
  testId?: string;
  empty?: string;
}) {
  const rows = props.rows ?? [];
  if (rows.length === 0 && props.empty) return <p class="muted">{props.empty}</p>;
  return (
    <table data-testid={props.testId}>
      <thead>
        <tr>
          {props.columns.map((c) => (
            <th key={c.label} scope="col">
              {c.label}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => {
          const key = props.rowKey(row);
          const tag = props.rowAttr ? { [`data-${props.rowAttr}`]: key } : {};
          return (
            <tr key={key} {...tag}>
              {props.columns.map((c, i) => {
                const Cell = i === 0 ? 'th' : 'td';
                return (
                  <Cell
                    key={c.label}
                    scope={i === 0 ? 'row' : undefined}
                    class={c.tone?.(row) || undefined}
                    data-testid={c.testId?.(row)}
                  >
                    {c.cell(row)}
                  </Cell>
                );
              })}
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
