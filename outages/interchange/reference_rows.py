"""The reference rows a document names (providers, services, regions, customers, sources):
found by key, by name or by alias, or given in full and then created, linked as stored, or
written over only when the run asks; every disagreement a problem naming both places."""

from outages import search
from outages.interchange import bulk, conflicts
from outages.interchange.planning import fields_of, same_values
from outages.interchange.stored import stored_names
from outages.models import Customer, IncidentArticle, Provider, Region, Service, Source

# resolve_name(): the name is that of several rows (a problem, already recorded).
AMBIGUOUS = object()


class References:
    """The Importer's handling of reference rows (see importing.Importer for the state it
    keeps)."""

    # --- References ---------------------------------------------------------------------

    def reference_provider(self, ref, at):
        if isinstance(ref, str):
            return self.lookup((Provider, ref), at, f"provider “{ref}”")
        return self.reference_in_full(
            Provider, None, (ref["slug"],), at, {"slug": ref["slug"]}, ref
        )

    def reference_service(self, provider, ref, at):
        if isinstance(ref, str):
            return self.lookup(
                (Service, provider.slug, ref), at, f"service “{ref}” of {provider.slug}"
            )
        identity = {"provider": provider, "slug": ref["slug"]}
        return self.reference_in_full(
            Service, provider.slug, (provider.slug, ref["slug"]), at, identity, ref
        )

    def reference_region(self, provider, ref, at):
        if isinstance(ref, str):
            return self.lookup(
                (Region, provider.slug, ref), at, f"region “{ref}” of {provider.slug}"
            )
        identity = {"provider": provider, "code": ref["code"]}
        return self.reference_in_full(
            Region, provider.slug, (provider.slug, ref["code"]), at, identity, ref
        )

    def reference_source(self, ref, at):
        if isinstance(ref, str):
            return self.lookup((Source, ref), at, f"source “{ref}”")
        return self.upsert(Source, (ref["url"],), {"url": ref["url"]}, ref, at)

    def reference_customer(self, ref, at):
        if isinstance(ref, str):
            return self.lookup((Customer, ref), at, f"customer “{ref}”")
        known = (Customer, ref["slug"]) in self.references
        if not known:
            resolved, obj = self.resolve_name(Customer, None, ref["name"], at, ref["slug"])
            if resolved:
                return obj
        values = dict(ref)
        if values.get("provider") is not None:  # left out, it stays as stored
            values["provider"] = self.reference_provider(values["provider"], at + ["provider"])
        obj = self.upsert(Customer, (ref["slug"],), {"slug": ref["slug"]}, values, at)
        return obj if known else self.made(Customer, None, obj)

    def reference_in_full(self, model, scope, key, at, identity, values):
        """A row the document gives in full. A new key with the name (or an alias) of a row
        already known is that row, linked as it is (resolve_name); otherwise upsert()."""
        if (model, *key) in self.references:
            return self.upsert(model, key, identity, values, at)
        resolved, obj = self.resolve_name(model, scope, values["name"], at, key[-1])
        if resolved:
            return obj
        return self.made(model, scope, self.upsert(model, key, identity, values, at))

    def impact_service(self, provider, key, at):
        provider_slug, dot, slug = key.rpartition(".")
        owner = provider.slug if not dot else provider_slug
        return self.lookup((Service, owner, slug), at, f"service “{key}”")

    def lookup(self, key, at, what):
        """The row a document names by its key; failing that, by its name or an alias."""
        obj = self.references.get(key)
        if obj is not None:
            return obj
        model, *natural_key = key
        if model is not Source:
            scope = natural_key[0] if len(natural_key) == 2 else None
            resolved, obj = self.resolve_name(model, scope, natural_key[-1], at)
            if resolved:
                return obj
            if obj is AMBIGUOUS:
                return None
        self.fail(at, f"there is no {what}; give it in full to create it")
        return None

    def resolve_name(self, model, scope, text, at, new_key=None):
        """(True, row) when `text` is the name, key or an alias of exactly one row known (stored,
        or made earlier in this run), said in a warning; (False, AMBIGUOUS) when it is that of
        several, a problem naming them; (False, None) when of none. `new_key`: the key of a row
        given in full, which becomes the row found instead of a second one."""
        if self.names is None:
            self.names = stored_names(self.references)
        found = self.names.match(model, scope, text)
        label = model._meta.verbose_name
        given = f"“{text}”" if new_key is None else f"“{text}” ({new_key})"
        if len(found) > 1:
            candidates = ", ".join(f"{key_of(row)} ({how})" for row, how in found)
            self.fail(at, f"{given} could be more than one {label}: {candidates}; use the key")
            return False, AMBIGUOUS
        if not found:
            return False, None
        row, how = found[0]
        key = (model, *row.natural_key()) if row.pk is not None else None
        if key is not None:
            row = self.references.setdefault(key, row)
            if model is Provider:
                for child in self.names.children[row.slug]:
                    self.references.setdefault((type(child), *child.natural_key()), child)
        self.warn(at, f"{given} resolved to {label} {key_of(row)} ({how})")
        return True, row

    def made(self, model, scope, obj):
        """Remember a row this run creates by its name and key, so that a later mention by name
        finds it (resolve_name)."""
        if obj is not None and obj.pk is None:
            self.names.add_row(model, scope, obj)
        return obj

    def upsert(self, model, key, identity, values, at):
        """Link a reference row given in full, creating it when it is new (written before the
        next incidents are, by save_references).

        A stored row is never rewritten as a side effect: each value the document gives
        differently is a conflict, unless the run asks for reference updates. Values the
        document leaves out are kept. Two places in one run that give one row different values
        are a problem naming both, whichever of them is stored."""
        values = {
            name: "" if value is None and self.is_text(model, name) else value
            for name, value in values.items()
        }
        key = (model, *key)
        obj = self.references.get(key)
        if obj is not None and key in self.given and same_values(obj, values):
            return obj
        # Validate a fresh row, so that a refused description leaves the shared one as it was.
        candidate = model(**identity)
        for name, value in values.items():
            setattr(candidate, name, value)
        # Looked up by its key, so the key is free or its own; references are resolved.
        if not self.validate(candidate, at, exclude=self.resolved(model), checked=True):
            return None
        place = self.base + at
        cleaned = fields_of(candidate, values)
        label = f"{model._meta.verbose_name} {'.'.join(str(part) for part in key[1:])}"
        given = self.given.setdefault(key, {})
        disputed = set()
        for name, value in cleaned.items():
            if name not in given:
                given[name] = (value, self.document, place)
            elif given[name][0] != value:
                disputed.add(name)
                first, document, path = given[name]
                there = document.problem(path, "")
                where = f"{there.file}:{there.line}" if there.line else there.file
                self.problems.append(
                    self.document.problem(
                        place,
                        f"{label}: {name} {conflicts.shown(keyed(value))} here, but "
                        f"{conflicts.shown(keyed(first))} in {where} "
                        f"{there.path}; give it one value",
                    )
                )
        if obj is None:
            self.references[key] = candidate
            self.unsaved.append((candidate, self.document, place))
            self.written.setdefault(self.document.name, {})[id(candidate)] = candidate
            return candidate
        stored = key in self.stored_keys
        changes = {
            name: value
            for name, value in cleaned.items()
            if name not in disputed and not same_values(obj, {name: value})
        }
        if stored and not self.update_references:
            for name, value in changes.items():
                self.problems.append(
                    self.document.problem(
                        place,
                        f"{label}: "
                        + conflicts.describe(name, keyed(getattr(obj, name)), keyed(value)),
                    )
                )
        elif changes:
            for name, value in changes.items():
                setattr(obj, name, value)
            if obj.pk is not None:
                self.changed[id(obj)] = (obj, self.document, place)
            self.written.setdefault(self.document.name, {})[id(obj)] = obj
            if stored:
                self.updated[id(obj)] = obj
        return obj

    def record_references(self):
        """A revision for the reference rows each document created or changed; the search
        documents of the incidents that show a changed stored row."""
        bulk.record_reference_revisions(self.written, self.user)
        IncidentArticle.objects.forget_showing(list(self.updated.values()))
        search.update_index_showing(list(self.updated.values()))

    @staticmethod
    def is_text(model, name):
        field = model._meta.get_field(name)
        return field.get_internal_type() in {"CharField", "TextField", "URLField", "SlugField"}

    def cited(self, url, by_url, at):
        if not url:
            return None
        if url not in by_url:
            self.fail(at, f"“{url}” is not among this incident's sources; list it under sources")
            return None
        return by_url[url]


def keyed(value):
    """A value as a conflict message shows it: a row by its natural key."""
    return value.natural_key() if hasattr(value, "natural_key") else value


def key_of(row):
    """How a document names a reference row: its slug, or a region's code."""
    return row.code if isinstance(row, Region) else row.slug
