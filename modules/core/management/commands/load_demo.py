from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Load the demo ISP (idempotent) and print how to sign in."

    def handle(self, *args, **options):
        from fixtures.demo import load

        ctx = load()
        self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        self.stdout.write(f"Sign in with any of these (password {ctx['password']}):")
        for label, username in ctx["logins"]:
            self.stdout.write(f"  {username:<10} {label}")
