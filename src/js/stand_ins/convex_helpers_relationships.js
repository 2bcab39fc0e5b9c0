// Stand-in for the small helpers of `convex-helpers/server/relationships`
// that migrations use to follow references.

export async function getAll(db, ids) {
  return Promise.all(ids.map((id) => db.get(id)));
}

export async function getAllOrThrow(db, ids) {
  const docs = await getAll(db, ids);
  docs.forEach((d, i) => {
    if (d === null) throw new Error(`Could not find id ${ids[i]}`);
  });
  return docs;
}

// The field an index is looked up by: given, or the index name without `by_`.
function firstIndexField(index, field) {
  if (field) return field;
  return index.startsWith("by_") ? index.slice(3) : index;
}

export async function getOneFrom(db, table, index, value, field) {
  const f = firstIndexField(index, field);
  return db.query(table).withIndex(index, (q) => q.eq(f, value)).unique();
}

export async function getOneFromOrThrow(db, table, index, value, field) {
  const doc = await getOneFrom(db, table, index, value, field);
  if (doc === null) throw new Error(`Can't find a document in ${table} with field ${firstIndexField(index, field)} equal to ${value}`);
  return doc;
}

export async function getManyFrom(db, table, index, value, field) {
  const f = firstIndexField(index, field);
  return db.query(table).withIndex(index, (q) => q.eq(f, value)).collect();
}
