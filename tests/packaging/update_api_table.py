"""Regenerates the C ABI table of docs/api.md from include/gofka.h, the
//export lines of capi/, the Python modules that call each function and the
tests that use it (directly in tests/c, or through those modules).

    python3 tests/packaging/update_api_table.py

tests/packaging/test_docs.py fails when a header function has no row or no
test; run this after adding a function (and its binding or C test)."""

import glob
import os
import re

os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
hdr=open('include/gofka.h').read()
t=re.sub(r"/\*.*?\*/"," ",hdr,flags=re.S)
names=[]
for n in re.findall(r"\b(gofka_\w+)\s*\([^;{)]*\)\s*;",t):
    if n not in names: names.append(n)
exports={}
for f in sorted(glob.glob('capi/*.go')):
    for m in re.findall(r"//export (gofka_\w+)",open(f).read()):
        exports[m]=f
modtests={'producer':['tests/python/test_producer.py','tests/python/test_producer_produce.py'],'async_producer':['tests/python/test_async_producer.py'],'_producer_base':['tests/python/test_producer.py','tests/python/test_async_producer.py'],
'consumer':['tests/python/test_consumer.py'],'_consumer_base':['tests/python/test_consumer.py','tests/python/test_async_consumer.py'],'async_consumer':['tests/python/test_async_consumer.py'],'admin':['tests/python/test_admin.py'],
'async_admin':['tests/python/test_admin_async.py'],'_admin_base':['tests/python/test_admin.py','tests/python/test_admin_async.py'],'pool':['tests/python/test_pool.py'],'_security':['tests/python/test_security.py'],
'_log':['tests/python/test_log.py'],'_stats':['tests/python/test_stats.py'],'devcluster':['tests/python/test_devcluster.py'],'exceptions':['tests/python/test_errors.py'],'_bridge':['tests/python/test_async_producer.py'],
'share_consumer':['tests/python/test_share_consumer.py'],'async_share_consumer':['tests/python/test_share_consumer.py'],'_share_consumer_base':['tests/python/test_share_consumer.py']}
ctests=glob.glob('tests/c/*.c')+glob.glob('tests/c/*.cpp')
rows=[]
for n in names:
    pym=[os.path.basename(f)[:-3] for f in sorted(glob.glob('python/gofka/*.py')) if re.search(r"\b%s\b"%n,open(f).read()) and not f.endswith('_native.py') and not f.endswith('__init__.py')]
    tests=[u for u in sorted(ctests) if re.search(r"\b%s\b"%n,open(u).read())]
    for m in pym:
        for tf in modtests.get(m,[]):
            if tf not in tests and os.path.exists(tf): tests.append(tf)
    if n=='gofka_debug_stats': tests.append('tests/python/test_leaks.py')
    if 'transaction' in n or n=='gofka_consumer_group_metadata': tests.append('tests/python/test_transactions.py')
    rows.append("| `%s` | `%s` | %s | %s |"%(n,exports.get(n,'?'),", ".join("`python/gofka/%s.py`"%p for p in pym) or "-", ", ".join("`%s`"%u for u in tests) or "-"))
doc=open('docs/api.md').read()
head="| function | exported in | bindings | tests |\n|---|---|---|---|\n"
i=doc.index(head)+len(head)
j=doc.index("\n\n## Go:",i)
doc=doc[:i]+"\n".join(rows)+doc[j:]
open('docs/api.md','w').write(doc)
print(len(rows),"rows")
